#pragma once
// AdamW with torch.optim.AdamW's semantics, and fp32 master weights for bf16 parameters. Parameters on the GPU take
// the same step there (optim/cuda/adamw.cu), their state and master copies on the GPU too.
//
// Per parameter at its step t: W *= 1 - lr weight_decay (decoupled, first); M = lerp(M, G, 1 - beta1);
// V = beta2 V + (1 - beta2) G^2; with amsgrad Vmax = max(Vmax, V) replaces V below;
// W -= (lr / (1 - beta1^t)) M / (sqrt(V) / sqrt(1 - beta2^t) + eps) (eps outside the corrected root, as torch).
// Slots: exp_avg, exp_avg_sq, and max_exp_avg_sq with amsgrad. A row-sparse gradient is read as zero on the
// rows it does not list; every row still changes (M and V decay, weight decay), so the step is a dense pass.
#include <vector>

#include "optim/cuda/adamw_gpu.h"
#include "optim/optimizer.h"

namespace gt {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  bool amsgrad = false;
  PrecisionOptions precision;
};

class AdamW : public Optimizer {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions opt = {});
  const AdamWOptions& options() const { return opt_; }

 protected:
  std::vector<Slot> slot_layout(const Tensor& param) const override;
  void update(size_t i, ParamState& ps, const Tensor& dense, const SparseRows& sparse) override;
  void flush() override;

 private:
  AdamWOptions opt_;
  std::vector<optim_detail::AdamWGpuStep> queued_;  // GPU steps waiting for flush()
};

}  // namespace gt
