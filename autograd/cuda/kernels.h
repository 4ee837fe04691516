#pragma once
// The CUDA kernels behind the ops of autograd/ops (ops.h), at tensor level. The ops keep the autograd logic (what
// is saved, which gradients flow) and call these for tensors on the GPU; docs/cuda.md has the whole design.
//
// Conventions: float tensors are f32 or bf16 and are computed in f32 (bf16 is widened on load and rounded to
// nearest even on store); outputs are allocated by the caller unless a function returns them; "contiguous" is
// required where stated (the ops make operands contiguous first). Indices are 64-bit throughout (docs/pitfalls.md item 2).
#include <cstdint>

#include "autograd/cuda/runtime.h"
#include "autograd/tensor.h"

namespace gt::cuda {

// ---- copies and pointwise (elementwise.cu) ----
// dst = src elementwise, converting dtype, for any strides of either (same shape, at most 8 dims).
GT_CUDA_API(void copy(const Tensor& dst, const Tensor& src))
enum class Binary : uint8_t { Add, Sub, Mul, Div };
// out (contiguous) = a OP b, where a and b are views of out's shape (broadcast dims have stride 0) of out's dtype.
GT_CUDA_API(void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& out))
GT_CUDA_API(void scale(const Tensor& x, float s, const Tensor& out))  // contiguous, same dtype
enum class Unary : uint8_t { Gelu, GeluBackward, Softcap, SoftcapBackward };
// Gelu: out = gelu_tanh(a). GeluBackward: out = a * gelu'(b) (a the upstream gradient, b the input).
// Softcap: out = cap tanh(a / cap). SoftcapBackward: out = a (1 - (b / cap)^2) (b the output).
// All contiguous; a, b and out may differ in dtype.
GT_CUDA_API(void unary(Unary op, const Tensor& a, const Tensor& b, float cap, const Tensor& out))
// The gated MLP activation: out = gelu_tanh(a) * b; backward da = gy b gelu'(a), db = gy gelu_tanh(a) (either may
// be undefined) in one pass. All contiguous, of one shape and dtype.
GT_CUDA_API(void gelu_mul(const Tensor& a, const Tensor& b, const Tensor& out))
GT_CUDA_API(void gelu_mul_backward(const Tensor& a, const Tensor& b, const Tensor& gy, const Tensor& da,
                                   const Tensor& db))
// out[r] = sum of src[r, :] (src contiguous [rows, run]; out [rows], any float dtype), accumulated in f32.
GT_CUDA_API(void row_sum(const Tensor& src, const Tensor& out))
// t = mean + std * N(0, 1), from a counter-based hash of (seed, element index): any size in one pass (random
// weights for tests and benchmarks). Contiguous float tensor.
GT_CUDA_API(void fill_normal(const Tensor& t, uint64_t seed, float mean, float std))
// sum of t^2 over a contiguous float tensor, in double over fixed blocks (the gradient norm; inf/NaN propagate).
GT_CUDA_API(double sum_squares(const Tensor& t))

// ---- normalisation and rotary embedding (nn.cu) ----
// x [R, D] contiguous; w [D] or undefined; out like x; rinv [R] f32 = (mean(x^2) + eps)^-1/2.
GT_CUDA_API(void rms_norm_forward(const Tensor& x, const Tensor& w, float eps, const Tensor& out, const Tensor& rinv))
// dx (like gy, or undefined) and dw (f32 [D], or undefined); dw sums rows in a fixed order.
GT_CUDA_API(void rms_norm_backward(const Tensor& x, const Tensor& w, const Tensor& rinv, const Tensor& gy,
                                   const Tensor& dx, const Tensor& dw))
// x, out [B, T, H, D] contiguous; cos, sin f32 [T, D/2] or [B, T, D/2]; inverse rotates by the negated angles.
GT_CUDA_API(void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, bool inverse, const Tensor& out))

// ---- rows of tables (nn.cu) ----
// out[i, :] = table[ids[i], :] (table [V, D] with unit column stride; ids i64 on the device; out contiguous).
GT_CUDA_API(void gather_rows(const Tensor& table, const Tensor& ids, const Tensor& out))
// out[u, :] = sum over k in [starts[u], starts[u+1]) of src[order[k], :], in k order (deterministic).
// order, starts: i64 on the device; src [n, D] contiguous; out [U, D] f32.
GT_CUDA_API(void group_rows_sum(const Tensor& src, const Tensor& order, const Tensor& starts, const Tensor& out))
// dst[rows[u], :] += values[u, :] (rows unique, i64 on the device; dst f32 [V, D] contiguous).
GT_CUDA_API(void scatter_rows_add(const Tensor& dst, const Tensor& rows, const Tensor& values))

// ---- log-softmax losses (loss.cu) ----
// x [N, V] contiguous. When cap > 0, x is replaced by cap tanh(x / cap) first (in place, x must be f32 then).
// lse[n] = log sum exp (inv_t x[n, :]) (f32; inv_t the inverse sampling temperature); picked[n] = x[n, targets[n]]
// (not scaled) where targets[n] is in [0, V), else 0. targets i64 on the device. Either output may be undefined.
GT_CUDA_API(void softmax_stats(const Tensor& x, float cap, const Tensor& targets, const Tensor& lse,
                               const Tensor& picked, float inv_t = 1.f))
// dx[n, j] = scale[n] (exp(inv_t y[n, j] - lse[n]) - [j == targets[n]]), times (1 - (y / cap)^2) when cap > 0 (y is
// then the capped value). Rows with scale 0 are zero. scale f32 [N] on the device; dx [N, V] any float dtype.
GT_CUDA_API(void softmax_grad(const Tensor& y, const Tensor& lse, const Tensor& targets, const Tensor& scale,
                              float cap, const Tensor& dx, float inv_t = 1.f))

// ---- matrix products (gemm.cpp, cuBLASLt) ----
// Row-major C[m, n] = alpha op(A) op(B) + beta C, op(X) = X^T when the flag is set; lda/ldb/ldc are row strides.
// A and B share a dtype (f32 or bf16); C is f32 or the same dtype. f32 inputs compute in full f32 (no TF32); bf16
// inputs accumulate in f32. `batch` products with element strides sa, sb, sc between them.
struct Gemm {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  float alpha = 1.f, beta = 0.f;
  int64_t batch = 1, sa = 0, sb = 0, sc = 0;
};
GT_CUDA_API(void gemm(const Gemm& g, DType ab, const void* a, const void* b, DType c_type, void* c))

// ---- attention (attention.cu) ----
struct AttentionShape {
  int64_t B = 0, T = 0, S = 0, Hq = 0, Hkv = 0, D = 0, Dv = 0;
  float scale = 1.f;
  bool causal = true;
  int64_t window = 0, q_offset = 0;
};
// Two implementations: Products materialises one kv group's [T x G, S] scores at a time and runs the products on
// cuBLASLt (tensor cores; Auto takes it for bf16 while all the scores fit in 2^26 floats), Tiled is the
// FlashAttention kernel that never materialises them (f32, longer sequences). Tests force either.
enum class AttentionKernel : uint8_t { Auto, Tiled, Products };
GT_CUDA_API(void set_attention_kernel(AttentionKernel k))
// Which keys a query may see beyond causality and the window, both i32 [B, S] on the device or undefined: key_mask
// (0 = padding) and segment_ids (ops.h: AttentionOptions; the test is attention_segments.h's same_segment).
struct AttentionMasks {
  Tensor key_mask, segment_ids;
};
// q [B, T, Hq, D], k [B, S, Hkv, D], v [B, S, Hkv, Dv], out [B, T, Hq, Dv], all contiguous and of one dtype;
// lse f32 [B, T, Hq] or undefined.
GT_CUDA_API(void attention_forward(const AttentionShape& s, const Tensor& q, const Tensor& k, const Tensor& v,
                                   const AttentionMasks& masks, const Tensor& out, const Tensor& lse))
// dq, dk, dv like q, k, v (any may be undefined). Deterministic: no atomics.
GT_CUDA_API(void attention_backward(const AttentionShape& s, const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionMasks& masks, const Tensor& out, const Tensor& lse,
                                    const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv))

}  // namespace gt::cuda
