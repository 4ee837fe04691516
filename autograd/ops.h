#pragma once
// Every differentiable op. Each lives in autograd/ops/<group>.cpp with its forward and its backward side by side.
//
// Conventions: ops compute in float32 and return float32 (bf16 inputs are widened on the way in); integer inputs
// (ids, targets) are never differentiated. A shape or dtype mismatch throws gt::Error naming the op and the
// shapes involved.
#include <vector>

#include "autograd/autograd.h"
#include "autograd/tensor.h"

namespace gt {

// ---- elementwise, with NumPy broadcasting (ops/elementwise.cpp) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& a, double s);  // a * s
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// ---- reductions (ops/reduce.cpp) ----
Tensor sum(const Tensor& a);  // all elements -> [] (a 0-d scalar)
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& a);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim = false);
// Sums `g` down to `shape` over the dimensions that broadcasting expanded (the backward of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);

// ---- matrix products on OpenBLAS (ops/matmul.cpp) ----
// a [..., M, K] x b [..., K, N] -> [..., M, N]. Batch dims broadcast; a 2-D b is shared by every batch entry
// and costs one GEMM. Transposed views (strides swapped) are passed to BLAS as transposes, without copies.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor linear(const Tensor& x, const Tensor& w);  // x [..., K] @ w[N, K]^T -> [..., N] (PyTorch's layout)

// ---- neural-network ops (ops/nn_*.cpp) ----
// table [V, D], ids (int) of any shape -> [..., D]. Rows equal to padding_idx get no gradient (as
// nn.Embedding(padding_idx)); -1 means none. If the table is a leaf marked with set_sparse_grad(), its gradient
// is row-sparse (SparseRows), otherwise dense.
Tensor embedding(const Tensor& table, const Tensor& ids, int64_t padding_idx = -1);
// y = x * (mean(x^2, -1) + eps)^-1/2 * weight, in float32; `weight` [D] may be undefined (no scale).
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);
// NeoX rotary embedding: x [B, T, H, D]; cos, sin [T, D/2] or [B, T, D/2] (not differentiated). Dim i pairs
// with i + D/2: y_i = x_i cos_i - x_{i+D/2} sin_i, y_{i+D/2} = x_{i+D/2} cos_i + x_i sin_i.
Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin);
// inv_freq [D/2]: theta^(-2i/D) for i < rotated, 0 above ("proportional" RoPE: docs/model.md §2.3). rotated = D/2
// is the ordinary full rotation.
Tensor rope_inv_freq(int64_t head_dim, double theta, int64_t rotated);
// cos/sin tables [P, D/2] (or [B, T, D/2] for [B, T] positions) for integer positions, computed in float32.
struct RopeTable {
  Tensor cos, sin;
};
RopeTable rope_table(const Tensor& inv_freq, const Tensor& positions);
Tensor gelu_tanh(const Tensor& x);  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
Tensor softcap(const Tensor& x, double cap);  // cap * tanh(x / cap)
// gelu_tanh(a) * b in one pass, the gated MLP's activation; its backward reads a and b only (the composite also
// keeps gelu_tanh(a)). Operands of one shape, dtype and device; anything else (broadcasting, mixed dtypes) takes
// the composite mul(gelu_tanh(a), b), which computes the same values.
Tensor gelu_tanh_mul(const Tensor& a, const Tensor& b);

// ---- attention (ops/attention.cpp) ----
struct AttentionOptions {
  double scale = 1.0;
  bool causal = true;
  // Sliding window: a query at absolute position p sees keys at p - window < s <= p. 0 means no window; a window
  // needs causal (the bound above includes s <= p).
  int64_t window = 0;
  // Absolute position of query row 0 (keys start at 0): T queries decoding after S - T cached keys use S - T.
  int64_t q_offset = 0;
  // Optional [B, S] integer mask, non-zero where the key is a real token (padding is 0).
  Tensor key_mask;
  // Optional [B, S] integer segment ids of packed sequences (attention_segments.h): query row t (at position
  // q_offset + t, so q_offset + T <= S) sees key s only when both positions carry the same id, on top of the
  // causal, window and key masks. Each id must occupy one contiguous run of positions in its row. Undefined: one
  // segment, exactly the unsegmented computation.
  Tensor segment_ids;
};
// q [B, T, Hq, D], k [B, S, Hkv, D], v [B, S, Hkv, Dv] -> [B, T, Hq, Dv]; Hq is a multiple of Hkv and query head
// h reads kv head h / (Hq / Hkv) (GQA; Hkv = 1 is MQA). Softmax in float32. A query row with no visible key
// returns zeros (and passes no gradient).
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt);

// ---- losses (ops/nn_loss.cpp) ----
enum class Reduction { Mean, Sum };
// Fused log-softmax + negative log-likelihood. logits [N, V], targets [N] (int); rows whose target equals
// ignore_index take no part. Mean divides by the number of counted rows (0 if there are none).
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100,
                     Reduction reduction = Reduction::Mean);
// log softmax(logits)[n, targets[n]] for every row: [N]. The per-token log-probabilities GRPO needs.
Tensor token_logprobs(const Tensor& logits, const Tensor& targets);

// ---- the tied head fused with its loss (ops/nn_linear_loss.cpp) ----
// Both score row n of hidden [..., D] against targets[n] (integer, hidden's leading shape; -100 = no target) under
// the logits softcap(hidden @ table^T, cap) (table [V, D]; cap 0: no softcap), `chunk` rows at a time: no
// [rows, V] logits tensor outlives a chunk, and the backward recomputes each chunk's logits. The next-token shift
// of a causal LM is the caller's. Gradients reach hidden and table.
//
// cross_entropy(logits, targets), the mean over the rows with a target (0 if there are none).
Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& table, const Tensor& targets, double cap,
                            int64_t chunk = 256);
// token_logprobs(logits / temperature, targets) in targets' shape, 0 where there is no target; only the rows with a
// target go through the product.
Tensor linear_token_logprobs(const Tensor& hidden, const Tensor& table, const Tensor& targets, double cap,
                             double temperature, int64_t chunk = 256);

// ---- joining (ops/join.cpp) ----
Tensor concat(const std::vector<Tensor>& parts, int64_t dim);  // a copy
// Views of `a` (of its float32 copy when `a` is bf16), recorded as one node: any subset of them may receive a
// gradient.
std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim);

}  // namespace gt
