#pragma once
// Adafactor as transformers implements it (docs/spec.md §5), with fp32 master weights for bf16 parameters and an
// exact row-sparse step for embedding tables. Parameters on the GPU take the same step there
// (optim/cuda/adafactor.cu), their state and master copies on the GPU too.
//
// Per parameter W with gradient G at its step t:
//   rho = lr, or with relative_step min(warmup_init ? 1e-6 t : 1e-2, 1/sqrt(t));
//   alpha = rho * (scale_parameter ? max(eps2, RMS(W)) : 1), RMS(W) before the update;
//   beta2 = 1 - t^decay_rate; Q = G^2 + eps1;
//   2+ dims (factored over the last two, leading dims are a batch): R = beta2 R + (1-beta2) mean_cols(Q),
//   C = beta2 C + (1-beta2) mean_rows(Q), U = G / sqrt(R_i C_j / mean(R)); otherwise V = beta2 V + (1-beta2) Q,
//   U = G / sqrt(V); U /= max(1, RMS(U) / clip_threshold); U *= alpha;
//   beta1: M = beta1 M + (1-beta1) U, U = M; weight_decay: W -= weight_decay alpha W; W -= U.
// State slots use transformers' names: exp_avg_sq_row [..., rows], exp_avg_sq_col [..., cols], exp_avg_sq, and
// exp_avg with beta1.
//
// Row-sparse gradients (an embedding table marked with set_sparse_grad, and no dense gradient): untouched rows
// have G = 0, hence U = 0; their R still decays toward eps1 and their Q = eps1 enters the column means; RMS(U) is
// over the whole table. With beta1 unset, weight_decay 0 and scale_parameter false the step costs
// O(touched rows x cols + rows + cols). beta1 (every row's M decays and W -= M), weight_decay (every row shrinks)
// and scale_parameter (RMS over all of W) each add one dense pass over the table; the result is the same either
// way. The sparse step is bit-identical to the dense step on the same gradient with zero rows (except under
// stochastic rounding, which re-draws the untouched bf16 rows only in the dense step): the sums of squares are added per row, per fixed block of rows, and across
// rows in row order, so missing rows add exact zeros; eps1 is added to those sums in double (sum(G^2) + n eps1
// instead of sum(G^2 + eps1): the same value up to float32 rounding of the terms).
#include <optional>
#include <vector>

#include "optim/cuda/adafactor_gpu.h"
#include "optim/optimizer.h"

namespace gt {

struct AdafactorOptions {
  // Our training default (docs/spec.md §4: Trainer's optim="adafactor" at lr 2e-5). transformers' class defaults
  // differ: lr None, scale_parameter and relative_step true; transformers_defaults() returns those.
  std::optional<double> lr = 2e-5;  // must be unset with relative_step, set without it
  double eps1 = 1e-30;  // added to G^2
  double eps2 = 1e-3;  // floor of RMS(W) in the parameter scale
  double clip_threshold = 1.0;
  double decay_rate = -0.8;
  std::optional<double> beta1;  // first moment, off when unset
  double weight_decay = 0.0;
  bool scale_parameter = false;
  bool relative_step = false;
  bool warmup_init = false;
  PrecisionOptions precision;

  static AdafactorOptions transformers_defaults();
};

class Adafactor : public Optimizer {
 public:
  explicit Adafactor(std::vector<Tensor> params, AdafactorOptions opt = {});

  // Refused with relative_step, whose step size comes from the step count alone (lr() is then 0).
  void set_lr(double lr) override;
  const AdafactorOptions& options() const { return opt_; }
  // alpha of parameter i's latest step (rho times the parameter scale); 0 before its first.
  double step_size(size_t i) const { return step_size_.at(i); }

 protected:
  std::vector<Slot> slot_layout(const Tensor& param) const override;
  void update(size_t i, ParamState& ps, const Tensor& dense, const SparseRows& sparse) override;
  void flush() override;

 private:
  AdafactorOptions opt_;
  std::vector<double> step_size_;
  std::vector<optim_detail::AdafactorGpuStep> queued_;  // GPU steps waiting for flush()
};

}  // namespace gt
