#pragma once
// The scalars of one AdamW step of one parameter (internal to optim/): shared by the CPU update in adamw.cpp and
// the GPU kernel in cuda/adamw.cu, so both apply the same float32 arithmetic.
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

}  // namespace gt::optim_detail
