#include "autograd/blas.h"

#include <cblas.h>

#include <algorithm>
#include <climits>

#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {
namespace {

// OpenBLAS cuts the K reduction into blocks of at most GEMM_Q, and 0.3.21 splits a remainder between Q and 2Q
// differently in its threaded driver than in its single-threaded one, so a GEMM with K above Q gave other bits on
// one thread than on several. SGEMM's Q is 320 for Haswell and Cooper Lake (here bits differed from K = 321 up),
// 384 for Sandy Bridge; a call with K <= Q is one block on any thread count. Long reductions are therefore cut
// into calls of kChunk accumulated into C in a fixed order, so the bits depend on the shapes alone. (The
// Bulldozer-era AMD cores, with Q of 168-240, would need a smaller chunk; tests/autograd/test_blas.cpp notices.)
// bench_core at E2B shapes, time against direct cblas: 0.99-1.06x with 256 (0.99-1.07x unchunked; noisy), 1.06-1.13x
// with 128.
constexpr int64_t kChunk = 256;

void call(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  // OpenBLAS takes 32-bit sizes; its internal indexing is 64-bit, so only each dimension must fit.
  GT_CHECK(m < INT_MAX && n < INT_MAX && k < INT_MAX && lda < INT_MAX && ldb < INT_MAX && ldc < INT_MAX,
           "sgemm: dimension too large for BLAS (m=", m, " n=", n, " k=", k, ")");
  num_threads();  // make sure the thread budget is applied before the first GEMM
  if (m == 0 || n == 0) return;
  if (k <= kChunk) {
    call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  for (int64_t k0 = 0; k0 < k; k0 += kChunk) {
    // op(A)'s columns k0.. start k0 elements in when A is stored m x k, k0 rows down when stored k x m; op(B)'s
    // rows the other way round.
    const float* ak = a + (trans_a ? k0 * lda : k0);
    const float* bk = b + (trans_b ? k0 : k0 * ldb);
    call(trans_a, trans_b, m, n, std::min(kChunk, k - k0), alpha, ak, lda, bk, ldb, k0 == 0 ? beta : 1.f, c, ldc);
  }
}

}  // namespace gt
