#pragma once
// One AdamW step of one parameter (internal to optim/): the scalars and the element update, shared by the CPU
// update in adamw.cpp and the GPU kernel in cuda/adamw.cu, so both apply the same float32 arithmetic.
#include <cmath>
#include <cstdint>

#include "base/host_device.h"

namespace gt::optim_detail {

// Rounded to float32 where torch applies them to float32 tensors.
struct AdamWCoeffs {
  bool decay = false;
  float keep = 1;                     // 1 - lr weight_decay
  float lerp_w = 0, lerp_w_rest = 0;  // 1 - beta1 and 1 - (1 - beta1)
  float beta2 = 0, one_minus_beta2 = 0;
  float bc2_sqrt = 1, eps = 0, neg_step = 0;
  bool amsgrad = false;
};

// Element i of a parameter whose weights `w` reads and writes (get/set), with gradient g and moments M, V (and Vmax
// under amsgrad).
template <class W>
GT_HOST_DEVICE inline void adamw_element(const W& w, float* M, float* V, float* Vmax, int64_t i, float g,
                                         const AdamWCoeffs& k) {
  float x = w.get(i);
  if (k.decay) x = x * k.keep;
  const float m0 = M[i];
  // torch's lerp: the form that is exact at the nearer end.
  const float m = k.lerp_w < 0.5f ? m0 + k.lerp_w * (g - m0) : g - (g - m0) * k.lerp_w_rest;
  M[i] = m;
  float v = V[i] * k.beta2;
  v = v + k.one_minus_beta2 * g * g;
  V[i] = v;
  if (k.amsgrad) {
    v = Vmax[i] < v ? v : Vmax[i];  // std::max(Vmax[i], v), spelled so device code can use it
    Vmax[i] = v;
  }
  const float denom = sqrtf(v) / k.bc2_sqrt + k.eps;
  w.set(i, x + k.neg_step * m / denom);
}

}  // namespace gt::optim_detail
