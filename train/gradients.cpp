#include "train/gradients.h"

#include <cmath>

#include "autograd/autograd.h"
#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"

namespace gt::train {

namespace {

// Sum of squares in double over fixed blocks, added in block order: the result never depends on scheduling.
double sum_squares(const Tensor& t) {
  if (t.device() == Device::CUDA) return cuda::sum_squares(dense_as(t, t.dtype()));
  const Tensor c = dense_f32(t.contiguous());
  const float* p = c.data<float>();
  const int64_t n = c.numel(), block = 1 << 16, blocks = (n + block - 1) / block;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  parallel_for(blocks, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      double s = 0;
      for (int64_t i = k * block, end = std::min(n, i + block); i < end; ++i) s += static_cast<double>(p[i]) * p[i];
      partial[static_cast<size_t>(k)] = s;
    }
  });
  double s = 0;
  for (double x : partial) s += x;
  return s;
}

bool all_finite(const Tensor& t) { return std::isfinite(sum_squares(t)); }

}  // namespace

GradNorm grad_norm(const std::vector<Tensor>& params) {
  GradNorm out;
  double total = 0;
  for (const Tensor& p : params) {
    const auto& meta = p.impl().autograd;
    if (!meta) continue;
    double s = 0;
    // A row-sparse gradient is read as its rows: densifying the PLE table's would cost 9.4 GB on E2B.
    if (meta->grad.defined())
      s = sum_squares(p.grad());
    else if (!meta->sparse_parts.empty())
      s = sum_squares(sparse_grad(p).values);
    else
      continue;
    if (!std::isfinite(s)) out.non_finite.push_back(p.name());
    total += s;
  }
  out.norm = std::sqrt(total);
  return out;
}

void scale_grads(const std::vector<Tensor>& params, double factor) {
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    auto& meta = p.impl().autograd;
    if (!meta) continue;
    if (meta->grad.defined()) meta->grad = scale(meta->grad, factor);
    for (SparseRows& part : meta->sparse_parts) part.values = scale(part.values, factor);
  }
}

std::string probe_non_finite(const Gemma4& model, const Tensor& ids) {
  NoGradGuard no_grad;
  std::vector<Tensor> states;
  ForwardOptions fo;
  fo.hidden_states = &states;
  const Tensor hidden = model.hidden_states(ids, fo);
  for (size_t i = 0; i < states.size(); ++i)
    if (!all_finite(states[i])) return i == 0 ? "the embeddings" : "the output of layer " + std::to_string(i - 1);
  if (!all_finite(hidden)) return "the final norm";
  if (!all_finite(model.head(hidden))) return "the logits";
  return "";
}

}  // namespace gt::train
