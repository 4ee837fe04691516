// gt::vec: accuracy against the C library, and bit-identical values whatever the address, length or split.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "autograd/vec_math.h"

namespace {

std::vector<float> spread(int64_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

// Distance in units of the last place of the reference (float spacing at |ref|).
double ulps(float got, double ref) {
  const double spacing = std::nextafter(static_cast<float>(std::fabs(ref)), std::numeric_limits<float>::infinity()) -
                         static_cast<float>(std::fabs(ref));
  return std::fabs(got - ref) / spacing;
}

TEST(VecMath, TanhWithinFourUlpOrTinyAbsoluteError) {
  // Eigen's rational tanh is exact to a few ulp away from zero; near zero it keeps an absolute error below 1e-9
  // (both far below what the model's float32 arithmetic resolves).
  const std::vector<float> x = spread(4099, -12.f, 12.f, 1);
  std::vector<float> y(x.size());
  gt::vec::tanh(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const double ref = std::tanh(static_cast<double>(x[i]));
    EXPECT_TRUE(ulps(y[i], ref) <= 4 || std::fabs(y[i] - ref) < 1e-9) << x[i] << " -> " << y[i] << " vs " << ref;
  }
}

TEST(VecMath, ExpWithinTwoUlpOnSoftmaxRangeAndFiveBeyond) {
  // Softmax exponents are max-subtracted, so [-20, 0] is where the values that matter lie; the float range
  // reduction loses a little more for large |x|.
  for (auto [lo, hi, bound] : {std::tuple{-20.f, 0.f, 2.0}, std::tuple{-80.f, 80.f, 5.0}}) {
    const std::vector<float> x = spread(4099, lo, hi, 2);
    std::vector<float> y(x.size());
    gt::vec::exp(x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i)
      EXPECT_LE(ulps(y[i], std::exp(static_cast<double>(x[i]))), bound) << x[i] << " -> " << y[i];
  }
  const float minus_inf = -std::numeric_limits<float>::infinity();
  float z = 0;
  gt::vec::exp(&minus_inf, &z, 1);
  EXPECT_EQ(z, 0.f);  // softmax rows with masked entries rely on this
}

TEST(VecMath, SameBitsWhateverTheAddressLengthOrInPlace) {
  const std::vector<float> x = spread(100, -5.f, 5.f, 3);
  std::vector<float> whole(x.size());
  gt::vec::tanh(x.data(), whole.data(), 100);
  // Every offset and length puts the same values at different alignments and block positions.
  for (int64_t off = 0; off < 17; ++off)
    for (int64_t len : {1, 5, 16, 17, 40}) {
      if (off + len > 100) continue;
      std::vector<float> buf(x.begin() + off, x.begin() + off + len);
      gt::vec::tanh(buf.data(), buf.data(), len);  // in place
      for (int64_t i = 0; i < len; ++i)
        ASSERT_EQ(buf[static_cast<size_t>(i)], whole[static_cast<size_t>(off + i)]) << "offset " << off << " len " << len;
    }
}

}  // namespace
