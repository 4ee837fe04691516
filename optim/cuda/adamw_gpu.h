#pragma once
// AdamW's step for parameters on the GPU (adamw.h has the algorithm; adamw.cu the kernel): the CPU step's float32
// arithmetic, one pass over each parameter, and one launch for all the parameters of a step (multi-tensor; the
// update is element-wise, so the bits do not depend on which parameters share the launch).
#include <vector>

#include "autograd/autograd.h"
#include "autograd/cuda/runtime.h"
#include "optim/adamw_step.h"
#include "optim/cuda/gpu_weights.h"

namespace gt::optim_detail {

// One parameter's step. Exactly one of `dense` (f32, the parameter's shape) and `sparse` (rows of a 2-D parameter;
// the other rows read a zero gradient) is defined. m, v (and vmax with amsgrad, else undefined): f32 slots of the
// parameter's shape.
struct AdamWGpuStep {
  GpuWeights w;
  Tensor dense;
  SparseRows sparse;
  Tensor m, v, vmax;
  AdamWCoeffs k;
};

GT_CUDA_API(void gpu_adamw(const std::vector<AdamWGpuStep>& params))

}  // namespace gt::optim_detail
