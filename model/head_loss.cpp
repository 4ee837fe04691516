// The tied head, softcap and causal-LM loss fused over chunks of tokens, so that no [tokens, vocab] logits tensor
// outlives one chunk (traps.md item 7): at E2B's vocabulary a 1024-token step otherwise keeps 1.07 GB of logits
// and makes two more of the same size in backward. The backward recomputes each chunk's logits.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/blas.h"
#include "autograd/cuda/kernels.h"
#include "autograd/parallel.h"
#include "autograd/vec_math.h"
#include "base/error.h"
#include "model/gemma4.h"

namespace gt {

namespace {

struct HeadPlan {
  int64_t N = 0, D = 0, V = 0, chunk = 0;
  float cap = 0;  // 0: no softcap
  std::vector<int64_t> targets;  // -100 = ignored
};

// y[n, :] = softcap(h[n, :] @ E^T) for rows [r0, r1); returns each row's log-sum-exp of y * inv_t (double
// accumulation).
std::vector<double> chunk_logits(const HeadPlan& p, const float* h, const float* e, int64_t r0, int64_t r1, float* y,
                                 float inv_t = 1.f) {
  const int64_t n = r1 - r0;
  sgemm(false, true, n, p.V, p.D, 1.f, h + r0 * p.D, p.D, e, p.D, 0.f, y, p.V);
  std::vector<double> lse(static_cast<size_t>(n));
  parallel_for(n, 1, [&](int64_t b, int64_t en) {
    std::vector<float> ex(static_cast<size_t>(p.V));
    for (int64_t i = b; i < en; ++i) {
      float* row = y + i * p.V;
      if (p.cap > 0) vec::softcap(row, row, p.V, p.cap);
      lse[static_cast<size_t>(i)] = vec::logsumexp(row, p.V, inv_t, ex.data());
    }
  });
  return lse;
}

// y[0:n] (f32 [chunk, V]) = h[r0:r1] @ E^T on the GPU, softcapped in place; lse (of y * inv_t) and picked (y at
// the target; f32, rows r0..r1) when defined.
void gpu_chunk_logits(const HeadPlan& p, const Tensor& h, const Tensor& e, const Tensor& targets, int64_t r0,
                      int64_t r1, const Tensor& y, const Tensor& lse, const Tensor& picked, float inv_t = 1.f) {
  const int64_t n = r1 - r0;
  cuda::Gemm g;
  g.trans_b = true, g.m = n, g.n = p.V, g.k = p.D, g.lda = p.D, g.ldb = p.D, g.ldc = p.V;
  const Tensor hs = h.slice(0, r0, r1);
  cuda::gemm(g, h.dtype(), hs.raw(), e.raw(), DType::F32, y.raw());
  cuda::softmax_stats(y.slice(0, 0, n), p.cap, targets.slice(0, r0, r1), lse.defined() ? lse.slice(0, r0, r1) : lse,
                      picked.defined() ? picked.slice(0, r0, r1) : picked, inv_t);
}

// lse and picked (f32 [N] on the GPU) of every row of h (p.N rows), chunk by chunk.
void gpu_head_stats(const HeadPlan& p, const Tensor& h, const Tensor& e, const Tensor& targets, const Tensor& lse,
                    const Tensor& picked, float inv_t) {
  const Tensor y = Tensor::empty({std::min(p.chunk, p.N), p.V}, DType::F32, Device::CUDA);
  for (int64_t r0 = 0; r0 < p.N; r0 += p.chunk)
    gpu_chunk_logits(p, h, e, targets, r0, std::min(p.N, r0 + p.chunk), y, lse, picked, inv_t);
}

// The backward of the chunked head on the GPU, shared by the loss and the log-probs: per chunk the logits again,
// their gradient scale[n] (softmax(inv_t y) - onehot) through the softcap, in the operands' dtype, then
// dh (h's dtype, when defined) and de (f32, accumulated across chunks, when defined).
void gpu_head_backward(const HeadPlan& p, const Tensor& h, const Tensor& e, const Tensor& targets, const Tensor& lse,
                       const Tensor& scales, float inv_t, const Tensor& dh, const Tensor& de) {
  const int64_t rows = std::min(p.chunk, p.N);
  const Tensor y = Tensor::empty({rows, p.V}, DType::F32, Device::CUDA);
  const Tensor dy = Tensor::empty({rows, p.V}, h.dtype(), Device::CUDA);
  for (int64_t r0 = 0; r0 < p.N; r0 += p.chunk) {
    const int64_t r1 = std::min(p.N, r0 + p.chunk), n = r1 - r0;
    gpu_chunk_logits(p, h, e, targets, r0, r1, y, Tensor(), Tensor());
    cuda::softmax_grad(y.slice(0, 0, n), lse.slice(0, r0, r1), targets.slice(0, r0, r1), scales.slice(0, r0, r1),
                       p.cap, dy.slice(0, 0, n), inv_t);
    if (dh.defined()) {
      cuda::Gemm b;
      b.m = n, b.n = p.D, b.k = p.V, b.lda = p.V, b.ldb = p.D, b.ldc = p.D;
      cuda::gemm(b, h.dtype(), dy.raw(), e.raw(), h.dtype(), dh.slice(0, r0, r1).raw());
    }
    if (de.defined()) {
      cuda::Gemm b;
      b.trans_a = true, b.m = p.V, b.n = p.D, b.k = n, b.lda = p.V, b.ldb = p.D, b.ldc = p.D;
      b.beta = r0 == 0 ? 0.f : 1.f;
      cuda::gemm(b, h.dtype(), dy.raw(), h.slice(0, r0, r1).raw(), DType::F32, de.raw());
    }
  }
}

// The GPU path: the chunk's logits are f32 (the product accumulates in f32 from bf16 or f32 operands), their
// gradient takes the operands' dtype for the two products of the backward, and the table's gradient accumulates
// in f32 across chunks.
Tensor head_loss_cuda(std::shared_ptr<HeadPlan> plan, const Tensor& hidden, const Tensor& table, double factor) {
  const HeadPlan& p = *plan;
  const DType dt = result_dtype({hidden, table});
  const Tensor h = dense_as(hidden, dt).reshape({p.N, p.D}), e = dense_as(table, dt);
  const Tensor targets = Tensor::from_ids(p.targets, {p.N}).to(Device::CUDA);
  const Tensor lse = Tensor::empty({p.N}, DType::F32, Device::CUDA);
  double total = 0;
  {
    const Tensor picked = Tensor::empty({p.N}, DType::F32, Device::CUDA);
    gpu_head_stats(p, h, e, targets, lse, picked, 1.f);
    const std::vector<float> l = lse.to_floats(), pk = picked.to_floats();
    for (int64_t r = 0; r < p.N; ++r)
      if (p.targets[static_cast<size_t>(r)] != -100) total += static_cast<double>(l[r]) - pk[r];
  }
  Tensor out = Tensor::full({}, total * factor).to(Device::CUDA);
  if (any_requires_grad({hidden, table})) {
    record("head_loss", {hidden, table}, {out},
           [plan, h = h.detach(), e = e.detach(), targets, lse, factor, shape = hidden.shape()](GradSink& g) {
             const HeadPlan& p = *plan;
             const float scale = static_cast<float>(g.out().item() * factor);
             std::vector<float> sc(static_cast<size_t>(p.N));
             for (int64_t r = 0; r < p.N; ++r) sc[r] = p.targets[static_cast<size_t>(r)] == -100 ? 0.f : scale;
             const Tensor scales = Tensor::from_vector(sc, {p.N}).to(Device::CUDA);
             const Tensor dh = g.needs(0) ? Tensor::empty({p.N, p.D}, h.dtype(), Device::CUDA) : Tensor();
             const Tensor de = g.needs(1) ? Tensor::empty({p.V, p.D}, DType::F32, Device::CUDA) : Tensor();
             gpu_head_backward(p, h, e, targets, lse, scales, 1.f, dh, de);
             if (dh.defined()) g.add(0, dh.reshape(shape));
             if (de.defined()) g.add(1, de);
           });
  }
  return out;
}

// head_logprobs on the GPU: the scored rows are gathered into one matrix there; the log-probs (a few per sequence)
// are formed on the host from the f32 statistics as the CPU forms them, and go back as a tensor on the GPU.
Tensor head_logprobs_cuda(std::shared_ptr<HeadPlan> plan, std::shared_ptr<std::vector<int64_t>> rows,
                          const Tensor& hidden, const Tensor& table, float inv_t, const Shape& out_shape) {
  const HeadPlan& p = *plan;
  const DType dt = result_dtype({hidden, table});
  const int64_t cells = shape_numel(out_shape);
  const Tensor h = dense_as(hidden, dt).reshape({cells, p.D}), e = dense_as(table, dt);
  const Tensor rows_d = Tensor::from_ids(*rows, {p.N}).to(Device::CUDA);
  const Tensor targets = Tensor::from_ids(p.targets, {p.N}).to(Device::CUDA);
  const Tensor packed = Tensor::empty({p.N, p.D}, dt, Device::CUDA);
  const Tensor lse = Tensor::empty({p.N}, DType::F32, Device::CUDA);
  std::vector<float> lp(static_cast<size_t>(cells), 0.f);
  if (p.N > 0) {
    cuda::gather_rows(h, rows_d, packed);
    const Tensor picked = Tensor::empty({p.N}, DType::F32, Device::CUDA);
    gpu_head_stats(p, packed, e, targets, lse, picked, inv_t);
    const std::vector<float> l = lse.to_floats(), pk = picked.to_floats();
    for (int64_t r = 0; r < p.N; ++r)
      lp[static_cast<size_t>((*rows)[static_cast<size_t>(r)])] =
          static_cast<float>(static_cast<double>(pk[r] * inv_t) - static_cast<double>(l[r]));
  }
  Tensor out = Tensor::from_vector(lp, out_shape).to(Device::CUDA);
  if (p.N > 0 && any_requires_grad({hidden, table})) {
    record("head_logprobs", {hidden, table}, {out},
           [plan, rows, rows_d, packed, e = e.detach(), targets, lse, inv_t, shape = hidden.shape(),
            hdt = hidden.dtype(), cells](GradSink& g) {
             const HeadPlan& p = *plan;
             const std::vector<float> up = g.out().to_floats();
             // d out / d y_j = (onehot_j - softmax(y / T)_j) / T: softmax_grad's form with scale -up / T.
             std::vector<float> sc(static_cast<size_t>(p.N));
             for (int64_t r = 0; r < p.N; ++r) sc[r] = -up[static_cast<size_t>((*rows)[static_cast<size_t>(r)])] * inv_t;
             const Tensor scales = Tensor::from_vector(sc, {p.N}).to(Device::CUDA);
             const Tensor dpacked = g.needs(0) ? Tensor::empty({p.N, p.D}, packed.dtype(), Device::CUDA) : Tensor();
             const Tensor de = g.needs(1) ? Tensor::empty({p.V, p.D}, DType::F32, Device::CUDA) : Tensor();
             gpu_head_backward(p, packed, e, targets, lse, scales, inv_t, dpacked, de);
             if (dpacked.defined()) {
               const Tensor dh = Tensor::zeros({cells, p.D}, DType::F32, Device::CUDA);
               cuda::scatter_rows_add(dh, rows_d, dpacked);
               g.add(0, dense_as(dh, hdt).reshape(shape));
             }
             if (de.defined()) g.add(1, de);
           });
  }
  return out;
}

}  // namespace

Tensor Gemma4::head_loss(const Tensor& hidden, const Tensor& labels, int64_t chunk) const {
  GT_CHECK(hidden.defined() && labels.defined() && hidden.dim() == 3 && labels.dim() == 2 &&
               hidden.size(0) == labels.size(0) && hidden.size(1) == labels.size(1) &&
               hidden.size(2) == config_.hidden_size && !is_floating(labels.dtype()) && chunk > 0,
           "head_loss: hidden ", hidden.str(), " and labels ", labels.str(), " do not fit ([B, T, ",
           config_.hidden_size, "], [B, T]) or chunk ", chunk, " <= 0");
  auto plan = std::make_shared<HeadPlan>();
  const int64_t B = labels.size(0), T = labels.size(1);
  plan->N = B * T;
  plan->D = config_.hidden_size;
  plan->V = config_.vocab_size;
  plan->chunk = chunk;
  plan->cap = static_cast<float>(config_.final_logit_softcapping);
  const std::vector<int64_t> lab = labels.to_ids();
  plan->targets.assign(static_cast<size_t>(plan->N), -100);
  int64_t count = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < T; ++t) {
      const int64_t y = lab[static_cast<size_t>(b * T + t + 1)];
      if (y == -100) continue;
      GT_CHECK(y >= 0 && y < plan->V, "head_loss: label ", y, " out of range for ", plan->V, " classes");
      plan->targets[static_cast<size_t>(b * T + t)] = y;
      ++count;
    }
  const double factor = count ? 1.0 / static_cast<double>(count) : 0.0;
  if (same_device("head_loss", {hidden, embed_tokens}) == Device::CUDA)
    return head_loss_cuda(plan, hidden, embed_tokens, factor);

  const Tensor h = dense_f32(hidden.contiguous());
  const Tensor e = dense_f32(embed_tokens);
  double total = 0;
  {
    std::vector<float> y(static_cast<size_t>(std::min(chunk, plan->N) * plan->V));
    for (int64_t r0 = 0; r0 < plan->N; r0 += chunk) {
      const int64_t r1 = std::min(plan->N, r0 + chunk);
      const std::vector<double> lse = chunk_logits(*plan, h.data<float>(), e.data<float>(), r0, r1, y.data());
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t t = plan->targets[static_cast<size_t>(r)];
        if (t != -100) total += lse[static_cast<size_t>(r - r0)] - y[static_cast<size_t>((r - r0) * plan->V + t)];
      }
    }
  }
  Tensor out = Tensor::full({}, total * factor);
  if (any_requires_grad({hidden, embed_tokens})) {
    // The table's f32 copy (for a bf16 table) is made again in backward rather than kept across the step.
    record("head_loss", {hidden, embed_tokens}, {out},
           [plan, hs = h.detach(), table = embed_tokens.detach(), factor, shape = hidden.shape()](GradSink& g) {
             const HeadPlan& p = *plan;
             const float scale = static_cast<float>(g.out().item() * factor);
             const Tensor ef = dense_f32(table);
             const float* e = ef.data<float>();
             const float* h = hs.data<float>();
             Tensor dh = g.needs(0) ? Tensor::zeros({p.N, p.D}) : Tensor();
             Tensor de = g.needs(1) ? Tensor::zeros({p.V, p.D}) : Tensor();
             std::vector<float> y(static_cast<size_t>(std::min(p.chunk, p.N) * p.V));
             for (int64_t r0 = 0; r0 < p.N; r0 += p.chunk) {
               const int64_t r1 = std::min(p.N, r0 + p.chunk), n = r1 - r0;
               const std::vector<double> lse = chunk_logits(p, h, e, r0, r1, y.data());
               // y becomes d loss / d (pre-softcap logits) in place.
               parallel_for(n, 1, [&](int64_t b, int64_t en) {
                 std::vector<float> ex(static_cast<size_t>(p.V));
                 for (int64_t i = b; i < en; ++i) {
                   float* row = y.data() + i * p.V;
                   const int64_t t = p.targets[static_cast<size_t>(r0 + i)];
                   if (t == -100) {
                     std::fill(row, row + p.V, 0.f);
                     continue;
                   }
                   const double l = lse[static_cast<size_t>(i)];
                   for (int64_t j = 0; j < p.V; ++j) ex[j] = static_cast<float>(row[j] - l);
                   vec::exp(ex.data(), ex.data(), p.V);
                   for (int64_t j = 0; j < p.V; ++j) {
                     float d = scale * ex[j];
                     if (j == t) d -= scale;
                     if (p.cap > 0) {
                       const float th = row[j] / p.cap;
                       d *= 1.f - th * th;
                     }
                     row[j] = d;
                   }
                 }
               });
               if (dh.defined())
                 sgemm(false, false, n, p.D, p.V, 1.f, y.data(), p.V, e, p.D, 0.f, dh.data<float>() + r0 * p.D, p.D);
               if (de.defined())
                 sgemm(true, false, p.V, p.D, n, 1.f, y.data(), p.V, h + r0 * p.D, p.D, 1.f, de.data<float>(), p.D);
             }
             if (dh.defined()) g.add(0, dh.reshape(shape));
             if (de.defined()) g.add(1, de);
           });
  }
  return out;
}

Tensor Gemma4::head_logprobs(const Tensor& hidden, const Tensor& targets, double temperature, int64_t chunk) const {
  GT_CHECK(hidden.defined() && targets.defined() && hidden.dim() == 3 && targets.dim() == 2 &&
               hidden.size(0) == targets.size(0) && hidden.size(1) == targets.size(1) &&
               hidden.size(2) == config_.hidden_size && !is_floating(targets.dtype()) && chunk > 0,
           "head_logprobs: hidden ", hidden.str(), " and targets ", targets.str(), " do not fit ([B, T, ",
           config_.hidden_size, "], [B, T]) or chunk ", chunk, " <= 0");
  GT_CHECK(temperature > 0 && std::isfinite(temperature), "head_logprobs: temperature must be > 0, got ", temperature);
  const Shape out_shape = targets.shape();
  const int64_t D = config_.hidden_size;
  auto plan = std::make_shared<HeadPlan>();
  plan->D = D;
  plan->V = config_.vocab_size;
  plan->chunk = chunk;
  plan->cap = static_cast<float>(config_.final_logit_softcapping);
  // Only positions with a target go through the head: their hidden rows are packed into one matrix.
  const std::vector<int64_t> lab = targets.to_ids();
  auto rows = std::make_shared<std::vector<int64_t>>();
  for (int64_t r = 0; r < static_cast<int64_t>(lab.size()); ++r) {
    const int64_t y = lab[static_cast<size_t>(r)];
    if (y == -100) continue;
    GT_CHECK(y >= 0 && y < plan->V, "head_logprobs: target ", y, " out of range for ", plan->V, " classes");
    rows->push_back(r);
    plan->targets.push_back(y);
  }
  plan->N = static_cast<int64_t>(rows->size());
  const float inv_t = static_cast<float>(1.0 / temperature);
  if (same_device("head_logprobs", {hidden, embed_tokens}) == Device::CUDA)
    return head_logprobs_cuda(plan, rows, hidden, embed_tokens, inv_t, out_shape);
  const Tensor h = dense_f32(hidden.contiguous());
  Tensor packed = Tensor::zeros({plan->N, D});
  for (int64_t i = 0; i < plan->N; ++i)
    std::copy_n(h.data<float>() + (*rows)[static_cast<size_t>(i)] * D, D, packed.data<float>() + i * D);
  const Tensor e = dense_f32(embed_tokens);
  Tensor out = Tensor::zeros(out_shape);
  {
    std::vector<float> y(static_cast<size_t>(std::min(chunk, std::max<int64_t>(plan->N, 1)) * plan->V));
    for (int64_t r0 = 0; r0 < plan->N; r0 += chunk) {
      const int64_t r1 = std::min(plan->N, r0 + chunk);
      const std::vector<double> lse =
          chunk_logits(*plan, packed.data<float>(), e.data<float>(), r0, r1, y.data(), inv_t);
      for (int64_t r = r0; r < r1; ++r) {
        const float yt = y[static_cast<size_t>((r - r0) * plan->V + plan->targets[static_cast<size_t>(r)])];
        out.data<float>()[(*rows)[static_cast<size_t>(r)]] =
            static_cast<float>(static_cast<double>(yt * inv_t) - lse[static_cast<size_t>(r - r0)]);
      }
    }
  }
  if (plan->N > 0 && any_requires_grad({hidden, embed_tokens})) {
    record("head_logprobs", {hidden, embed_tokens}, {out},
           [plan, rows, hs = packed, table = embed_tokens.detach(), inv_t, shape = hidden.shape()](GradSink& g) {
             const HeadPlan& p = *plan;
             const float* up = g.out().data<float>();
             const Tensor ef = dense_f32(table);
             const float* e = ef.data<float>();
             const float* h = hs.data<float>();
             Tensor dpacked = g.needs(0) ? Tensor::zeros({p.N, p.D}) : Tensor();
             Tensor de = g.needs(1) ? Tensor::zeros({p.V, p.D}) : Tensor();
             std::vector<float> y(static_cast<size_t>(std::min(p.chunk, p.N) * p.V));
             for (int64_t r0 = 0; r0 < p.N; r0 += p.chunk) {
               const int64_t r1 = std::min(p.N, r0 + p.chunk), n = r1 - r0;
               const std::vector<double> lse = chunk_logits(p, h, e, r0, r1, y.data(), inv_t);
               // d out / d y_j = (onehot_j - softmax(y / T)_j) / T, then through the softcap; y is overwritten.
               parallel_for(n, 1, [&](int64_t b, int64_t en) {
                 std::vector<float> ex(static_cast<size_t>(p.V));
                 for (int64_t i = b; i < en; ++i) {
                   float* row = y.data() + i * p.V;
                   const int64_t t = p.targets[static_cast<size_t>(r0 + i)];
                   const float scale = up[(*rows)[static_cast<size_t>(r0 + i)]] * inv_t;
                   const double l = lse[static_cast<size_t>(i)];
                   for (int64_t j = 0; j < p.V; ++j)
                     ex[j] = static_cast<float>(static_cast<double>(row[j] * inv_t) - l);
                   vec::exp(ex.data(), ex.data(), p.V);
                   for (int64_t j = 0; j < p.V; ++j) {
                     const float yj = row[j];
                     float d = -scale * ex[j];
                     if (j == t) d += scale;
                     if (p.cap > 0) {
                       const float th = yj / p.cap;
                       d *= 1.f - th * th;
                     }
                     row[j] = d;
                   }
                 }
               });
               if (dpacked.defined())
                 sgemm(false, false, n, p.D, p.V, 1.f, y.data(), p.V, e, p.D, 0.f, dpacked.data<float>() + r0 * p.D,
                       p.D);
               if (de.defined())
                 sgemm(true, false, p.V, p.D, n, 1.f, y.data(), p.V, h + r0 * p.D, p.D, 1.f, de.data<float>(), p.D);
             }
             if (dpacked.defined()) {
               Tensor dh = Tensor::zeros(shape);
               for (int64_t i = 0; i < p.N; ++i)
                 std::copy_n(dpacked.data<float>() + i * p.D, p.D,
                             dh.data<float>() + (*rows)[static_cast<size_t>(i)] * p.D);
               g.add(0, dh);
             }
             if (de.defined()) g.add(1, de);
           });
  }
  return out;
}

}  // namespace gt
