// sgemm, the one OpenBLAS call: right in every transpose combination, and bit-identical for any thread count even
// when the reduction is long or C is cut into many tiles (OpenBLAS's own threading changed last bits with the
// thread count: 0.3.21 splits a K above 320 differently on one thread, and on an AVX-512 EPYC even K = 256 differed
// between 1 and 2 threads; sgemm now runs fixed tiles on our pool with OpenBLAS on one thread).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "autograd/blas.h"
#include "autograd/parallel.h"

using namespace gt;

namespace {

struct Case {
  bool ta, tb;
  int64_t m, n, k;
};

struct Operands {
  std::vector<float> a, b, c0;
  int64_t lda, ldb;
};

// op(A) is m x k and op(B) is k x n; a transposed operand is stored the other way round. The leading dimensions
// are wider than the rows so that strided operands (views) are exercised.
Operands operands(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  Operands o;
  const int64_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int64_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  o.lda = a_cols + 3;
  o.ldb = b_cols + 5;
  o.a.resize(static_cast<size_t>(a_rows * o.lda));
  o.b.resize(static_cast<size_t>(b_rows * o.ldb));
  o.c0.resize(static_cast<size_t>(c.m * c.n));
  for (auto* v : {&o.a, &o.b, &o.c0})
    for (float& x : *v) x = nd(rng);
  return o;
}

std::vector<float> run(const Case& c, const Operands& o, float alpha, float beta) {
  std::vector<float> out = o.c0;
  sgemm(c.ta, c.tb, c.m, c.n, c.k, alpha, o.a.data(), o.lda, o.b.data(), o.ldb, beta, out.data(), c.n);
  return out;
}

// Which K lengths change bits depends on OpenBLAS's blocking for the CPU (on a Cooper Lake core: K above 320
// unless K mod 32 is 0 or 31), so the lengths vary: 2048 (a weight gradient over 2048 token rows), some that are
// not multiples of 32, and one just past 320.
// The last two cut C into many tiles (up to 256 x 256 each), one with a K inside a single chunk.
const Case kCases[] = {{true, false, 64, 48, 2048},  {false, false, 37, 29, 2000}, {false, true, 33, 70, 1000},
                       {true, true, 40, 31, 1001},   {true, false, 96, 80, 321},   {false, false, 300, 520, 256},
                       {false, true, 1100, 130, 600}};

}  // namespace

TEST(Sgemm, MatchesADoubleReferenceInEveryLayout) {
  for (const Case& c : kCases) {
    const Operands o = operands(c, 7);
    const float alpha = 0.75f, beta = -0.5f;
    const std::vector<float> got = run(c, o, alpha, beta);
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double ref = 0, mag = 0;
        for (int64_t p = 0; p < c.k; ++p) {
          const double a = o.a[static_cast<size_t>(c.ta ? p * o.lda + i : i * o.lda + p)];
          const double b = o.b[static_cast<size_t>(c.tb ? j * o.ldb + p : p * o.ldb + j)];
          ref += a * b;
          mag += std::abs(a * b);
        }
        const double c0 = o.c0[static_cast<size_t>(i * c.n + j)];
        ref = alpha * ref + beta * c0;
        // float accumulation of k products: error below k * 2^-24 * sum|a b| (a loose worst case; the blocked
        // sums are far better), plus the rounding of the final scale and add.
        const double tol = static_cast<double>(c.k) * 0x1p-24 * (alpha * mag) + 0x1p-22 * (std::abs(ref) + 1);
        ASSERT_NEAR(got[static_cast<size_t>(i * c.n + j)], ref, tol)
            << "ta=" << c.ta << " tb=" << c.tb << " k=" << c.k << " at " << i << "," << j;
      }
  }
}

TEST(Sgemm, LongReductionsAreBitIdenticalForAnyThreadCount) {
  const int threads = num_threads();
  for (const Case& c : kCases) {
    const Operands o = operands(c, 11);
    std::vector<std::vector<float>> results;
    for (int t : {1, 2, 3, 8}) {
      set_num_threads(t);
      results.push_back(run(c, o, 1.f, 0.f));
      results.push_back(run(c, o, 0.5f, 1.f));
    }
    set_num_threads(threads);
    for (size_t r = 2; r < results.size(); ++r)
      EXPECT_EQ(results[r], results[r % 2]) << "ta=" << c.ta << " tb=" << c.tb << " k=" << c.k << " run " << r;
  }
}
