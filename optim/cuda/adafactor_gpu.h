#pragma once
// Adafactor's step for parameters on the GPU (adafactor.h has the algorithm; adafactor.cu the kernels). The same
// float32 arithmetic as the CPU step; the sums of squares are taken in double over fixed blocks, so the result is
// deterministic and equal to the CPU's up to the order of those double additions.
#include <cstdint>

#include "autograd/autograd.h"
#include "autograd/cuda/runtime.h"
#include "optim/adafactor_step.h"
#include "optim/cuda/gpu_weights.h"

namespace gt::optim_detail {

// RMS of the weights (the master copy when there is one), in double.
GT_CUDA_API(double gpu_weights_rms(const GpuWeights& w))
// Unfactored step (parameters with fewer than 2 dims): V and the optional momentum m are f32 like the gradient.
// k.clip_div is computed here. Returns nothing; everything stays on the device.
GT_CUDA_API(void gpu_adafactor_unfactored(const GpuWeights& w, const Tensor& grad, const Tensor& v, const Tensor& m,
                                          const AdafactorCoeffs& k, double clip_threshold))
// Factored step over the last two dims ([..., N, C]): R [..., N], C [..., C]. Exactly one of `dense` (f32, the
// parameter's shape) and `sparse` (rows of a 2-D parameter) is defined. Rows without a gradient decay their R
// and, with momentum or weight decay, still move (as on the CPU).
GT_CUDA_API(void gpu_adafactor_factored(const GpuWeights& w, const Tensor& dense, const SparseRows& sparse,
                                        const Tensor& row_state, const Tensor& col_state, const Tensor& m,
                                        const AdafactorCoeffs& k, double clip_threshold))

}  // namespace gt::optim_detail
