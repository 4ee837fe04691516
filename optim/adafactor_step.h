#pragma once
// One Adafactor step of one parameter (internal to optim/): the scalars and the end of each element's update,
// shared by the CPU update in adafactor.cpp and the GPU kernels in cuda/adafactor.cu, so both apply the same float32
// arithmetic.
#include <cstdint>

#include "base/host_device.h"

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

// The end of the update of element i of a parameter whose weights `w` reads and writes (get/set), from its
// unclipped U and the clip divisor (k.clip_div on the CPU; the GPU keeps it on the device). Every path goes through
// here, so a row without a gradient (u = 0) is treated the same whether the step is sparse or dense.
template <class W>
GT_HOST_DEVICE inline void adafactor_element(const W& w, float* m, int64_t i, float u, const AdafactorCoeffs& k,
                                             float clip_div) {
  u = u / clip_div;
  u = u * k.alpha;
  if (k.momentum) {
    m[i] = m[i] * k.beta1 + k.one_minus_beta1 * u;
    u = m[i];
  }
  float x = w.get(i);
  if (k.decay) x = x + x * k.neg_wd_alpha;
  w.set(i, x - u);
}

}  // namespace gt::optim_detail
