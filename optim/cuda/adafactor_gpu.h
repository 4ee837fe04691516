#pragma once
// Adafactor's step for parameters on the GPU (adafactor.h has the algorithm; adafactor.cu the kernels). The same
// float32 arithmetic as the CPU step; the sums of squares are taken in double over fixed blocks, so the result is
// deterministic and equal to the CPU's up to the order of those double additions.
//
// Any number of parameters take their step in one sequence of six launches (multi-tensor): each launch covers
// every parameter's blocks of one stage. A block does exactly what it would do in a launch of its parameter alone
// (the same block size, the same rows and the same grid stride), so the result does not depend on which
// parameters share the sequence: one at a time gives the same bits.
#include <cstdint>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/cuda/runtime.h"
#include "optim/adafactor_step.h"
#include "optim/cuda/gpu_weights.h"

namespace gt::optim_detail {

// One parameter's step. Exactly one of `dense` (f32, the parameter's shape) and `sparse` (rows of a 2-D
// parameter) is defined. Factored (2+ dims, over the last two, [..., N, C]): row_state R [..., N] and col_state
// [..., C]; rows without a gradient decay their R and, with momentum or weight decay, still move (as on the CPU).
// Unfactored (fewer dims): row_state is V and col_state undefined. m: the momentum slot or undefined.
// k.clip_div is computed on the device.
struct AdafactorGpuStep {
  GpuWeights w;
  Tensor dense;
  SparseRows sparse;
  Tensor row_state, col_state, m;
  AdafactorCoeffs k;
};

// RMS of the weights (the master copy when there is one), in double.
GT_CUDA_API(double gpu_weights_rms(const GpuWeights& w))
// The steps of all `params`; everything stays on the device, nothing waits for the host.
GT_CUDA_API(void gpu_adafactor(const std::vector<AdafactorGpuStep>& params, double clip_threshold))

}  // namespace gt::optim_detail
