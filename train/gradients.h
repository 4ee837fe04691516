#pragma once
// Gradient checks every trainer runs after backward: the global norm (stopping on zero or non-finite ones, which
// would otherwise train nothing or poison the weights while the loss still looks fine: docs/pitfalls.md items 6 and 10),
// clipping, and probes that name where a NaN or an infinity first appears.
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "model/gemma4.h"

namespace gt::train {

struct GradNorm {
  double norm = 0;  // sqrt of the sum of squares over every gradient (dense and row-sparse), in double
  std::vector<std::string> non_finite;  // parameters whose gradient holds a NaN or an infinity, in order
};

// Deterministic: the same gradients give the same bits on any number of threads.
GradNorm grad_norm(const std::vector<Tensor>& params);

// Multiplies every gradient by `factor` (torch's clip_grad_norm_ uses max_norm / (norm + 1e-6)). The gradients are
// replaced by scaled copies, never scaled in place: a leaf's gradient may share storage with another tensor.
void scale_grads(const std::vector<Tensor>& params, double factor);

// Runs the forward again without recording and names the first place whose values are not finite: "the
// embeddings", "the output of layer 7", "the final norm" or "the logits"; empty when all are finite.
std::string probe_non_finite(const Gemma4& model, const Tensor& ids);

}  // namespace gt::train
