#include "autograd/blas.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <strings.h>

#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {
namespace {

// Every C element's value must depend on the shapes alone, never on the thread count (exact resume on another
// machine size, and the same demo at any GT_NUM_THREADS, rest on it). OpenBLAS's threaded driver does not give
// that: 0.3.21 splits a long K differently with one thread than with several, and on some CPUs (an AVX-512 EPYC
// with the Haswell kernels) even a K below GEMM_Q changed last bits between 1 and 2 threads. So OpenBLAS always runs
// on one thread (parallel.cpp pins it), and we spread the work ourselves:
//  - C is cut into tiles whose shape is a function of (m, n) alone; each tile is one single-threaded OpenBLAS call
//    sequence, and the tiles run in parallel on our pool. Which thread computes a tile changes no bit.
//  - Within a tile, K is cut into fixed chunks of kChunk accumulated into C in order, so every call has K <= GEMM_Q
//    (320 for Haswell and Cooper Lake, 384 for Sandy Bridge) and OpenBLAS's own K blocking never comes into play.
constexpr int64_t kChunk = 256;

// Tiles are at most kTileMax on a side and at least kTileMin (OpenBLAS's per-call packing and dispatch cost stays
// small against the tile's work), and a side is cut into up to kSplit pieces so that a small C (a weight gradient
// of a narrow layer, long in K) still spreads over 8-16 tiles. The sizes are rounded to 16 so tiles keep the
// kernels' register blocking whole.
constexpr int64_t kTileMax = 256, kTileMin = 32, kSplit = 4;

int64_t tile_side(int64_t extent) {
  int64_t t = (extent + kSplit - 1) / kSplit;
  t = (t + 15) / 16 * 16;
  return std::clamp<int64_t>(t, kTileMin, kTileMax);
}

void call(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// One tile of C, its whole reduction: fixed K chunks in order.
void tile(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (k == 0) {
    // BLAS leaves C * beta when there is nothing to reduce; one call does it without a loop of our own.
    call(trans_a, trans_b, m, n, 0, alpha, a, lda, b, ldb, beta, c, ldc);
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

}  // namespace

const char* blas_kernels_to_pin() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return nullptr;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return nullptr;
  return strcasecmp(openblas_get_corename(), "haswell") == 0 ? nullptr : "Haswell";
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  // OpenBLAS takes 32-bit sizes; its internal indexing is 64-bit, so only each dimension must fit.
  GT_CHECK(m < INT_MAX && n < INT_MAX && k < INT_MAX && lda < INT_MAX && ldb < INT_MAX && ldc < INT_MAX,
           "sgemm: dimension too large for BLAS (m=", m, " n=", n, " k=", k, ")");
  num_threads();  // pins OpenBLAS to one thread before its first call
  if (m == 0 || n == 0) return;
  const int64_t tm = tile_side(m), tn = tile_side(n);
  const int64_t rows = (m + tm - 1) / tm, cols = (n + tn - 1) / tn;
  parallel_for(rows * cols, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = t / cols * tm, j0 = t % cols * tn;
      // op(A)'s rows i0.. and op(B)'s columns j0..: down the rows of a stored operand, or along them if transposed.
      const float* ai = a + (trans_a ? i0 : i0 * lda);
      const float* bj = b + (trans_b ? j0 * ldb : j0);
      tile(trans_a, trans_b, std::min(tm, m - i0), std::min(tn, n - j0), k, alpha, ai, lda, bj, ldb, beta,
           c + i0 * ldc + j0, ldc);
    }
  });
}

}  // namespace gt
