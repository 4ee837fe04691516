// The tied head, softcap and causal-LM loss fused over chunks of tokens, so that no [tokens, vocab] logits tensor
// outlives one chunk (docs/pitfalls.md item 7): at E2B's vocabulary a 1024-token step otherwise keeps 1.07 GB of logits
// and makes two more of the same size in backward. The backward recomputes each chunk's logits.
//
// Two ops (ops.h): linear_cross_entropy (the SFT loss) and linear_token_logprobs (GRPO's token log-probs at a
// temperature). Both score row n of the hidden states against targets[n]; the next-token shift is the caller's.
#include <algorithm>
#include <cmath>
#include <memory>

#include "autograd/blas.h"
#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/ops/softmax_rows.h"
#include "autograd/parallel.h"
#include "autograd/vec_math.h"
#include "base/error.h"

namespace gt {

namespace {

struct HeadPlan {
  int64_t N = 0, D = 0, V = 0, chunk = 0;
  float cap = 0;  // 0: no softcap
  std::vector<int64_t> targets;  // -100 = ignored
};

// The plan of either op: hidden [..., D], table [V, D], targets (int) of hidden's leading shape. Each target is
// -100 or a class.
std::shared_ptr<HeadPlan> plan_head(const char* op, const Tensor& hidden, const Tensor& table, const Tensor& targets,
                                    double cap, int64_t chunk) {
  GT_CHECK(hidden.defined() && table.defined() && targets.defined(), op, ": undefined operand");
  GT_CHECK(is_floating(hidden.dtype()) && is_floating(table.dtype()) && hidden.dim() >= 1 && table.dim() == 2 &&
               hidden.size(-1) == table.size(1) && !is_floating(targets.dtype()) &&
               Shape(hidden.shape().begin(), hidden.shape().end() - 1) == targets.shape(),
           op, ": hidden ", hidden.str(), ", table ", table.str(), " and targets ", targets.str(),
           " do not fit ([..., D], [V, D], integer [...])");
  GT_CHECK(chunk > 0, op, ": chunk ", chunk, " <= 0");
  GT_CHECK(cap >= 0 && std::isfinite(cap), op, ": cap must be >= 0 and finite (0: none), got ", cap);
  auto plan = std::make_shared<HeadPlan>();
  plan->D = table.size(1);
  plan->V = table.size(0);
  plan->chunk = chunk;
  plan->cap = static_cast<float>(cap);
  plan->targets = targets.to_ids();
  for (size_t r = 0; r < plan->targets.size(); ++r) {
    const int64_t y = plan->targets[r];
    GT_CHECK(y == -100 || (y >= 0 && y < plan->V), op, ": target ", y, " at row ", r, " out of range for ", plan->V,
             " classes");
  }
  plan->N = static_cast<int64_t>(plan->targets.size());
  return plan;
}

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

// The CPU backward of both ops: per chunk the logits again, their gradient scale[n] (softmax(inv_t y) - onehot)
// through the softcap (in place), then dh [N, D] and de [V, D] (each when defined, f32, zero-initialised).
void cpu_head_backward(const HeadPlan& p, const float* h, const float* e, const std::vector<float>& scales,
                       float inv_t, const Tensor& dh, const Tensor& de) {
  std::vector<float> y(static_cast<size_t>(std::min(p.chunk, p.N) * p.V));
  for (int64_t r0 = 0; r0 < p.N; r0 += p.chunk) {
    const int64_t r1 = std::min(p.N, r0 + p.chunk), n = r1 - r0;
    const std::vector<double> lse = chunk_logits(p, h, e, r0, r1, y.data(), inv_t);
    softmax_minus_onehot(y.data(), lse.data(), p.targets.data() + r0, scales.data() + r0, n, p.V, inv_t, p.cap,
                         y.data());
    if (dh.defined())
      sgemm(false, false, n, p.D, p.V, 1.f, y.data(), p.V, e, p.D, 0.f, dh.data<float>() + r0 * p.D, p.D);
    if (de.defined())
      sgemm(true, false, p.V, p.D, n, 1.f, y.data(), p.V, h + r0 * p.D, p.D, 1.f, de.data<float>(), p.D);
  }
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

// Per row: the loss's upstream scale where the row has a target, 0 where it has none.
std::vector<float> loss_scales(const HeadPlan& p, float scale) {
  std::vector<float> sc(static_cast<size_t>(p.N));
  for (int64_t r = 0; r < p.N; ++r) sc[r] = p.targets[static_cast<size_t>(r)] == -100 ? 0.f : scale;
  return sc;
}

// The GPU path: the chunk's logits are f32 (the product accumulates in f32 from bf16 or f32 operands), their
// gradient takes the operands' dtype for the two products of the backward, and the table's gradient accumulates
// in f32 across chunks.
Tensor cross_entropy_cuda(std::shared_ptr<HeadPlan> plan, const Tensor& hidden, const Tensor& table, double factor) {
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
    record("linear_cross_entropy", {hidden, table}, {out},
           [plan, h = h.detach(), e = e.detach(), targets, lse, factor, shape = hidden.shape()](GradSink& g) {
             const HeadPlan& p = *plan;
             const std::vector<float> sc = loss_scales(p, static_cast<float>(g.out().item() * factor));
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

// linear_token_logprobs on the GPU: the scored rows are gathered into one matrix there; the log-probs (a few per
// sequence) are formed on the host from the f32 statistics as the CPU forms them, and go back as a tensor on the
// GPU.
Tensor token_logprobs_cuda(std::shared_ptr<HeadPlan> plan, std::shared_ptr<std::vector<int64_t>> rows,
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
    record("linear_token_logprobs", {hidden, table}, {out},
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

Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& table, const Tensor& targets, double cap,
                            int64_t chunk) {
  std::shared_ptr<HeadPlan> plan = plan_head("linear_cross_entropy", hidden, table, targets, cap, chunk);
  const int64_t count = std::count_if(plan->targets.begin(), plan->targets.end(), [](int64_t y) { return y != -100; });
  const double factor = count ? 1.0 / static_cast<double>(count) : 0.0;
  if (same_device("linear_cross_entropy", {hidden, table}) == Device::CUDA)
    return cross_entropy_cuda(plan, hidden, table, factor);

  const Tensor h = dense_f32(hidden.contiguous());
  const Tensor e = dense_f32(table);
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
  if (any_requires_grad({hidden, table})) {
    // The table's f32 copy (for a bf16 table) is made again in backward rather than kept across the step.
    record("linear_cross_entropy", {hidden, table}, {out},
           [plan, hs = h.detach(), table = table.detach(), factor, shape = hidden.shape()](GradSink& g) {
             const HeadPlan& p = *plan;
             const Tensor ef = dense_f32(table);
             Tensor dh = g.needs(0) ? Tensor::zeros({p.N, p.D}) : Tensor();
             Tensor de = g.needs(1) ? Tensor::zeros({p.V, p.D}) : Tensor();
             cpu_head_backward(p, hs.data<float>(), ef.data<float>(),
                               loss_scales(p, static_cast<float>(g.out().item() * factor)), 1.f, dh, de);
             if (dh.defined()) g.add(0, dh.reshape(shape));
             if (de.defined()) g.add(1, de);
           });
  }
  return out;
}

Tensor linear_token_logprobs(const Tensor& hidden, const Tensor& table, const Tensor& targets, double cap,
                             double temperature, int64_t chunk) {
  std::shared_ptr<HeadPlan> plan = plan_head("linear_token_logprobs", hidden, table, targets, cap, chunk);
  GT_CHECK(temperature > 0 && std::isfinite(temperature), "linear_token_logprobs: temperature must be > 0, got ",
           temperature);
  const Shape out_shape = targets.shape();
  const int64_t D = plan->D;
  // Only rows with a target go through the head: their hidden rows are packed into one matrix.
  auto rows = std::make_shared<std::vector<int64_t>>();
  std::vector<int64_t> scored;
  for (int64_t r = 0; r < plan->N; ++r)
    if (plan->targets[static_cast<size_t>(r)] != -100) {
      rows->push_back(r);
      scored.push_back(plan->targets[static_cast<size_t>(r)]);
    }
  plan->targets = std::move(scored);
  plan->N = static_cast<int64_t>(rows->size());
  const float inv_t = static_cast<float>(1.0 / temperature);
  if (same_device("linear_token_logprobs", {hidden, table}) == Device::CUDA)
    return token_logprobs_cuda(plan, rows, hidden, table, inv_t, out_shape);
  const Tensor h = dense_f32(hidden.contiguous());
  Tensor packed = Tensor::zeros({plan->N, D});
  for (int64_t i = 0; i < plan->N; ++i)
    std::copy_n(h.data<float>() + (*rows)[static_cast<size_t>(i)] * D, D, packed.data<float>() + i * D);
  const Tensor e = dense_f32(table);
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
  if (plan->N > 0 && any_requires_grad({hidden, table})) {
    record("linear_token_logprobs", {hidden, table}, {out},
           [plan, rows, hs = packed, table = table.detach(), inv_t, shape = hidden.shape()](GradSink& g) {
             const HeadPlan& p = *plan;
             const float* up = g.out().data<float>();
             // d out / d y_j = (onehot_j - softmax(y / T)_j) / T: the shared kernel with scale -up / T.
             std::vector<float> sc(static_cast<size_t>(p.N));
             for (int64_t r = 0; r < p.N; ++r) sc[r] = -(up[(*rows)[static_cast<size_t>(r)]] * inv_t);
             const Tensor ef = dense_f32(table);
             Tensor dpacked = g.needs(0) ? Tensor::zeros({p.N, p.D}) : Tensor();
             Tensor de = g.needs(1) ? Tensor::zeros({p.V, p.D}) : Tensor();
             cpu_head_backward(p, hs.data<float>(), ef.data<float>(), sc, inv_t, dpacked, de);
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
