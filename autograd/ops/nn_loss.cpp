// Fused log-softmax losses over [N, V] logits: cross_entropy (mean or sum NLL) and per-token log-probabilities.
// The backward saves only the logits and one log-sum-exp per row and recomputes the softmax: storing it would
// double the largest activation of the model ([tokens, 262144]).
#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/ops/softmax_rows.h"
#include "autograd/parallel.h"
#include "autograd/vec_math.h"
#include "base/error.h"

namespace gt {

namespace {

int64_t row_grain(int64_t V) { return std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(V, 1)); }

// Validates the operands and returns the targets as int64.
std::vector<int64_t> check_operands(const char* op, const Tensor& logits, const Tensor& targets) {
  GT_CHECK(logits.defined() && targets.defined(), op, ": undefined operand");
  GT_CHECK(is_floating(logits.dtype()) && logits.dim() == 2, op, ": logits must be float [N, V], got ",
           logits.str());
  GT_CHECK(!is_floating(targets.dtype()) && targets.dim() == 1 && targets.size(0) == logits.size(0), op,
           ": targets ", targets.str(), " do not fit logits ", logits.str(), " (need integer [N])");
  return targets.to_ids();
}

void check_target(const char* op, int64_t n, int64_t t, int64_t V) {
  GT_CHECK(t >= 0 && t < V, op, ": target ", t, " at row ", n, " out of range for ", V, " classes");
}

// log(sum(exp(x))) of every row, max-subtracted, with the sum of exponentials accumulated in double.
std::vector<double> row_logsumexp(const Tensor& x) {
  const int64_t N = x.size(0), V = x.size(1);
  const float* xp = x.data<float>();
  std::vector<double> lse(static_cast<size_t>(N));
  parallel_for(N, row_grain(V), [&](int64_t b, int64_t e) {
    std::vector<float> ex(static_cast<size_t>(V));
    for (int64_t n = b; n < e; ++n) lse[n] = vec::logsumexp(xp + n * V, V, 1.f, ex.data());
  });
  return lse;
}

// dx = scale[n] (softmax(x[n]) - onehot(target[n])) for every row of x (ops/softmax_rows.h).
Tensor loss_grad(const Tensor& x, const std::vector<double>& lse, const std::vector<int64_t>& target,
                            const std::vector<float>& scale) {
  Tensor dx = Tensor::empty(x.shape());
  softmax_minus_onehot(x.data<float>(), lse.data(), target.data(), scale.data(), x.size(0), x.size(1), 1.f, 0.f,
                       dx.data<float>());
  return dx;
}

// GPU side of both losses: per-row log-sum-exp and target logit on the device, read back for the (double) sum on
// the host; the backward builds the per-row scales on the host and forms softmax - onehot on the device.
struct GpuRows {
  Tensor x, lse, targets;  // x contiguous in its dtype; lse f32 [N]; targets i64 [N] on the device
  std::vector<float> lse_h, picked_h;
};

GpuRows gpu_rows(const Tensor& logits, const std::vector<int64_t>& tv) {
  GpuRows r;
  const int64_t N = logits.size(0);
  r.x = dense_as(logits, logits.dtype());
  r.targets = Tensor::from_ids(tv, {N}).to(Device::CUDA);
  r.lse = Tensor::empty({N}, DType::F32, Device::CUDA);
  Tensor picked = Tensor::empty({N}, DType::F32, Device::CUDA);
  cuda::softmax_stats(r.x, 0.f, r.targets, r.lse, picked);
  r.lse_h = r.lse.to_floats();
  r.picked_h = picked.to_floats();
  return r;
}

Tensor gpu_grad(const GpuRows& r, const std::vector<float>& scale) {
  Tensor dx = Tensor::empty(r.x.shape(), r.x.dtype(), Device::CUDA);
  const int64_t N = r.x.size(0);
  const Tensor sc = Tensor::from_vector(scale, {N}).to(Device::CUDA);
  // softmax_grad takes at most 65535 rows a call.
  for (int64_t n0 = 0; n0 < N; n0 += 65535) {
    const int64_t n1 = std::min<int64_t>(N, n0 + 65535);
    cuda::softmax_grad(r.x.slice(0, n0, n1), r.lse.slice(0, n0, n1), r.targets.slice(0, n0, n1),
                       sc.slice(0, n0, n1), 0.f, dx.slice(0, n0, n1));
  }
  return dx;
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Reduction reduction) {
  std::vector<int64_t> tv = check_operands("cross_entropy", logits, targets);
  const int64_t N = logits.size(0), V = logits.size(1);
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n) {
    if (tv[n] == ignore_index) continue;
    check_target("cross_entropy", n, tv[n], V);
    ++count;
  }
  const double mean_factor = count ? 1.0 / static_cast<double>(count) : 0.0;
  if (logits.device() == Device::CUDA) {
    GpuRows r = gpu_rows(logits, tv);
    double total = 0;
    for (int64_t n = 0; n < N; ++n)
      if (tv[n] != ignore_index) total += static_cast<double>(r.lse_h[n]) - r.picked_h[n];
    const double factor = reduction == Reduction::Mean ? mean_factor : 1.0;
    Tensor out = Tensor::full({}, total * factor).to(Device::CUDA);
    if (any_requires_grad({logits})) {
      record("cross_entropy", {logits}, {out}, [r = std::move(r), tv = std::move(tv), ignore_index, factor](GradSink& g) {
        const double go = g.out().item() * factor;
        std::vector<float> scale(tv.size());
        for (size_t n = 0; n < tv.size(); ++n) scale[n] = tv[n] == ignore_index ? 0.f : static_cast<float>(go);
        g.add(0, gpu_grad(r, scale));
      });
    }
    return out;
  }
  const Tensor xf = dense_f32(logits);
  std::vector<double> lse = row_logsumexp(xf);
  // Summed in row order on one thread: the loss is bit-identical for any thread count.
  double total = 0;
  const float* xp = xf.data<float>();
  for (int64_t n = 0; n < N; ++n)
    if (tv[n] != ignore_index) total += lse[n] - xp[n * V + tv[n]];
  const double factor = reduction == Reduction::Mean ? mean_factor : 1.0;
  Tensor out = Tensor::full({}, total * factor);
  if (any_requires_grad({logits})) {
    record("cross_entropy", {logits}, {out},
           [xs = xf.detach(), lse = std::move(lse), tv = std::move(tv), ignore_index, factor](GradSink& g) {
             const double go = g.out().item() * factor;
             std::vector<float> scale(tv.size());
             for (size_t n = 0; n < tv.size(); ++n) scale[n] = tv[n] == ignore_index ? 0.f : static_cast<float>(go);
             g.add(0, loss_grad(xs, lse, tv, scale));
           });
  }
  return out;
}

Tensor token_logprobs(const Tensor& logits, const Tensor& targets) {
  std::vector<int64_t> tv = check_operands("token_logprobs", logits, targets);
  const int64_t N = logits.size(0), V = logits.size(1);
  for (int64_t n = 0; n < N; ++n) check_target("token_logprobs", n, tv[n], V);
  if (logits.device() == Device::CUDA) {
    GpuRows r = gpu_rows(logits, tv);
    std::vector<float> lp(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) lp[n] = r.picked_h[n] - r.lse_h[n];
    Tensor out = Tensor::from_vector(lp, {N}).to(Device::CUDA);
    if (any_requires_grad({logits})) {
      record("token_logprobs", {logits}, {out}, [r = std::move(r)](GradSink& g) {
        const std::vector<float> go = g.out().to_floats();
        std::vector<float> scale(go.size());
        for (size_t n = 0; n < go.size(); ++n) scale[n] = -go[n];
        g.add(0, gpu_grad(r, scale));
      });
    }
    return out;
  }
  const Tensor xf = dense_f32(logits);
  std::vector<double> lse = row_logsumexp(xf);
  Tensor out = Tensor::empty({N});
  float* op = out.data<float>();
  const float* xp = xf.data<float>();
  for (int64_t n = 0; n < N; ++n) op[n] = static_cast<float>(xp[n * V + tv[n]] - lse[n]);
  if (any_requires_grad({logits})) {
    record("token_logprobs", {logits}, {out},
           [xs = xf.detach(), lse = std::move(lse), tv = std::move(tv)](GradSink& g) {
             // d logp_n / dx_n = onehot - softmax: the shared kernel with the scale negated.
             const float* go = g.out().data<float>();
             std::vector<float> scale(tv.size());
             for (size_t n = 0; n < tv.size(); ++n) scale[n] = -go[n];
             g.add(0, loss_grad(xs, lse, tv, scale));
           });
  }
  return out;
}

}  // namespace gt
