#include "optim/adamw.h"

#include <cmath>

#include "base/error.h"
#include "optim/adamw_step.h"
#include "optim/cuda/adamw_gpu.h"
#include "optim/kernels.h"

namespace gt {

using namespace optim_detail;

namespace {

const AdamWOptions& validated(const AdamWOptions& o) {
  GT_CHECK(o.lr >= 0, "AdamW: lr must be >= 0, got ", o.lr);
  GT_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "AdamW: betas must be in [0, 1), got (",
           o.beta1, ", ", o.beta2, ")");
  GT_CHECK(o.eps >= 0, "AdamW: eps must be >= 0, got ", o.eps);
  GT_CHECK(o.weight_decay >= 0, "AdamW: weight_decay must be >= 0, got ", o.weight_decay);
  return o;
}

}  // namespace

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions opt)
    : Optimizer("AdamW", std::move(params), validated(opt).lr, opt.precision), opt_(std::move(opt)) {}

std::vector<Optimizer::Slot> AdamW::slot_layout(const Tensor& param) const {
  std::vector<Slot> out{{"exp_avg", param.shape()}, {"exp_avg_sq", param.shape()}};
  if (opt_.amsgrad) out.push_back({"max_exp_avg_sq", param.shape()});
  return out;
}

void AdamW::update(size_t i, ParamState& ps, const Tensor& dense, const SparseRows& sparse) {
  const Tensor& p = params()[i];
  const double t = static_cast<double>(ps.step);
  const double lr_now = lr();
  AdamWCoeffs k;
  k.decay = opt_.weight_decay != 0.0;
  k.keep = static_cast<float>(1.0 - lr_now * opt_.weight_decay);
  k.lerp_w = static_cast<float>(1.0 - opt_.beta1);
  k.lerp_w_rest = 1.0f - k.lerp_w;
  k.beta2 = static_cast<float>(opt_.beta2);
  k.one_minus_beta2 = static_cast<float>(1.0 - opt_.beta2);
  const double bc1 = 1.0 - std::pow(opt_.beta1, t);
  const double bc2 = 1.0 - std::pow(opt_.beta2, t);
  k.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  k.eps = static_cast<float>(opt_.eps);
  k.neg_step = static_cast<float>(-(lr_now / bc1));
  k.amsgrad = opt_.amsgrad;
  if (p.device() == Device::CUDA) {
    // The same step on the GPU (optim/cuda/adamw.cu); the slots and the master copy live there too.
    const GpuWeights w{p, ps.master, precision().rounding == Rounding::Stochastic,
                       rounding_key(precision(), i, ps.step), non_finite_flag(i)};
    queued_.push_back({w, dense, sparse, ps.slots[0], ps.slots[1], opt_.amsgrad ? ps.slots[2] : Tensor(), k});
    return;
  }
  float* M = ps.slots[0].data<float>();
  float* V = ps.slots[1].data<float>();
  float* Vmax = opt_.amsgrad ? ps.slots[2].data<float>() : nullptr;

  with_weights(p, ps.master, precision(), i, ps.step, non_finite_flag(i), [&](const auto& w) {
    if (!sparse.defined()) {
      const float* g = dense.data<float>();
      for_chunks(p.numel(), [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j) adamw_element(w, M, V, Vmax, j, g[j], k);
      });
      return;
    }
    RowGrad rg;
    rg.rows = p.size(0);
    rg.cols = p.size(1);
    rg.count = sparse.rows.numel();
    rg.index = sparse.rows.data<int64_t>();
    rg.g = sparse.values.data<float>();
    for_all_rows(rg, [&](int64_t r, int64_t e) {
      const int64_t at = r * rg.cols;
      for (int64_t j = 0; j < rg.cols; ++j)
        adamw_element(w, M, V, Vmax, at + j, e >= 0 ? rg.g[e * rg.cols + j] : 0.0f, k);
    });
  });
}

void AdamW::flush() {
  if (queued_.empty()) return;
  const std::vector<AdamWGpuStep> steps = std::move(queued_);  // none is left queued if the launch throws
  queued_.clear();
  gpu_adamw(steps);
}

}  // namespace gt
