#pragma once
// Elementwise tanh and exp over float arrays through Eigen's vectorised kernels: the scalar tanhf/expf they
// replace took about a third of a tiny-model training step (GELU, softcap, softmax).
//
// Every element goes through the same packet code, whatever the array's address or length and however a caller
// splits it between threads, so results are bit-identical from run to run (exact resume depends on that). Eigen
// on a plain Map would instead peel an unaligned head and the tail with its scalar functions, whose values differ
// in the last bits and would then depend on where malloc placed the buffer.
#include <cstdint>

namespace gt::vec {

// y[i] = tanh(x[i]) for i < n (Eigen's rational approximation: a few ulp). y may equal x.
void tanh(const float* x, float* y, int64_t n);
// y[i] = exp(x[i]) for i < n (Eigen's polynomial: within 2 ulp on [-20, 0], 5 on [-80, 80]; 0 below log(FLT_MIN),
// so exp(-inf) = 0). y may equal x.
void exp(const float* x, float* y, int64_t n);

// y[i] = cap * tanh(x[i] / cap) for i < n (Gemma's logit softcapping). y may equal x.
void softcap(const float* x, float* y, int64_t n, float cap);
// log(sum_i exp(scale * x[i])), max-subtracted, the exponentials summed in double in index order. `scratch` holds n
// floats. scale 1 is exact (no rounding is added), so callers without a temperature get the plain log-sum-exp.
double logsumexp(const float* x, int64_t n, float scale, float* scratch);

}  // namespace gt::vec
