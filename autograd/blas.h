#pragma once
// The one place that calls OpenBLAS. Row-major C = alpha * op(A) op(B) + beta * C.
#include <cstdint>

namespace gt {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// OpenBLAS (Debian's is built DYNAMIC_ARCH) chooses its kernels for the CPU when it is loaded, and kernels differ in
// blocking and FMA order, so the same GEMM gave other last bits on an AVX-512 CPU than on an AVX2 one. Every CPU
// that can run the Haswell kernels (AVX2 and FMA, which the default x86-64-v3 build needs anyway) should use them,
// unless the user set OPENBLAS_CORETYPE. OpenBLAS reads that variable once, in its constructor, before any code of
// ours runs, so a program pins the kernels by setting it and executing itself again (cli/main.cpp): this returns
// the core type to set, or nullptr when the kernels are already the pinned ones, the user chose, or the CPU lacks
// AVX2/FMA.
const char* blas_kernels_to_pin();

}  // namespace gt
