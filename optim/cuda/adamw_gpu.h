#pragma once
// AdamW's step for parameters on the GPU (adamw.h has the algorithm; adamw.cu the kernel): the CPU step's float32
// arithmetic, one pass over the parameter.
#include "autograd/autograd.h"
#include "autograd/cuda/runtime.h"
#include "optim/adamw_step.h"
#include "optim/cuda/gpu_weights.h"

namespace gt::optim_detail {

// Exactly one of `dense` (f32, the parameter's shape) and `sparse` (rows of a 2-D parameter; the other rows read a
// zero gradient) is defined. m, v (and vmax with amsgrad, else undefined): f32 slots of the parameter's shape.
GT_CUDA_API(void gpu_adamw(const GpuWeights& w, const Tensor& dense, const SparseRows& sparse, const Tensor& m,
                           const Tensor& v, const Tensor& vmax, const AdamWCoeffs& k))

}  // namespace gt::optim_detail
