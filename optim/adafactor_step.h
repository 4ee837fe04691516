#pragma once
// The scalars of one Adafactor step of one parameter (internal to optim/): shared by the CPU update in
// adafactor.cpp and the GPU kernels in cuda/adafactor.cu, so both apply the same float32 arithmetic.
#include <cstdint>

namespace gt::optim_detail {

// In float32 where transformers applies them to float32 tensors.
struct AdafactorCoeffs {
  float beta2 = 0, one_minus_beta2 = 0;
  double eps1 = 0;  // the float32 value of eps1
  float alpha = 0, clip_div = 1;
  bool momentum = false;
  float beta1 = 0, one_minus_beta1 = 0;
  bool decay = false;
  float neg_wd_alpha = 0;
};

}  // namespace gt::optim_detail
