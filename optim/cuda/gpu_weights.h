#pragma once
// What an optimizer step on the GPU writes (internal to optim/): shared by the Adafactor and AdamW kernels.
#include <cstdint>

#include "autograd/tensor.h"

namespace gt::optim_detail {

// An f32 parameter, or a bf16 parameter with (or without) its f32 master copy, rounded to nearest even or
// stochastically with the CPU's hash (kernels.h: bf16_stochastic), key as there.
struct GpuWeights {
  Tensor param;   // f32 or bf16, contiguous, on the GPU
  Tensor master;  // f32 or undefined
  bool stochastic = false;
  uint64_t key = 0;
  int* non_finite = nullptr;  // a device int that any thread writing a NaN or an infinity sets to 1
};

}  // namespace gt::optim_detail
