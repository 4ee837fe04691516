// FP8 E4M3 rounding on hand-worked values (model/float8.h), and the dequantizer.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "model/float8.h"
#include "support/expect_error.h"

using namespace gt;

TEST(Float8, HandWorkedCodes) {
  EXPECT_EQ(float_to_e4m3(0.f), 0x00);
  EXPECT_EQ(float_to_e4m3(-0.f), 0x80);
  EXPECT_EQ(float_to_e4m3(1.f), 0x38);        // exponent 7 (2^0), mantissa 0
  EXPECT_EQ(float_to_e4m3(-2.5f), 0xc2);      // 1.25 * 2^1: sign, exponent 8, mantissa 2
  EXPECT_EQ(float_to_e4m3(240.f), 0x77);      // 1.875 * 2^7: exponent 14, mantissa 7
  EXPECT_EQ(float_to_e4m3(448.f), 0x7e);      // the largest finite value
  EXPECT_EQ(float_to_e4m3(-448.f), 0xfe);
  EXPECT_EQ(float_to_e4m3(1.1f), 0x39);       // nearest of 1.0 and 1.125
  EXPECT_EQ(float_to_e4m3(1.0625f), 0x38);    // halfway 1.0 / 1.125: the even mantissa 0
  EXPECT_EQ(float_to_e4m3(1.1875f), 0x3a);    // halfway 1.125 / 1.25: the even mantissa 2
  EXPECT_EQ(float_to_e4m3(1.99f), 0x40);      // rounds up into the next binade: 2.0
}

TEST(Float8, Subnormals) {
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.f, -9)), 0x01);         // the smallest subnormal
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.f, -10)), 0x00);        // halfway 0 / 2^-9: even 0
  EXPECT_EQ(float_to_e4m3(std::ldexp(3.f, -10)), 0x02);        // halfway 1 / 2 units: even 2
  EXPECT_EQ(float_to_e4m3(std::ldexp(7.f, -9)), 0x07);         // the largest subnormal
  EXPECT_EQ(float_to_e4m3(std::ldexp(7.5f, -9)), 0x08);        // halfway: even 8 = the smallest normal 2^-6
  EXPECT_EQ(float_to_e4m3(std::ldexp(1.f, -12)), 0x00);        // underflows to zero
  EXPECT_EQ(float_to_e4m3(-std::ldexp(5.f, -9)), 0x85);
  EXPECT_FLOAT_EQ(e4m3_to_float(0x01), std::ldexp(1.f, -9));
  EXPECT_FLOAT_EQ(e4m3_to_float(0x08), std::ldexp(1.f, -6));
}

TEST(Float8, SaturatesAndRefusesNaN) {
  EXPECT_EQ(float_to_e4m3(464.f), 0x7e);  // halfway 448 / 480: 480 would be the NaN code, so 448
  EXPECT_EQ(float_to_e4m3(500.f), 0x7e);
  EXPECT_EQ(float_to_e4m3(1e30f), 0x7e);
  EXPECT_EQ(float_to_e4m3(-std::numeric_limits<float>::infinity()), 0xfe);
  gt::testing::expect_error([] { float_to_e4m3(std::nanf("")); }, {"NaN"});
  EXPECT_TRUE(std::isnan(e4m3_to_float(0x7f)));
  EXPECT_TRUE(std::isnan(e4m3_to_float(0xff)));
}

TEST(Float8, EveryCodeRoundTripsAndRelativeErrorIsHalfAStep) {
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;
    EXPECT_EQ(float_to_e4m3(e4m3_to_float(static_cast<uint8_t>(c))), c) << c;
  }
  for (float x = 0.02f; x < 448.f; x *= 1.0137f) {
    const float y = e4m3_to_float(float_to_e4m3(x));
    EXPECT_LE(std::fabs(y - x), std::ldexp(x, -4)) << x;  // half of the 2^-3 spacing within a binade
  }
}

TEST(Float8, DequantizesPerChannelAndPerTensor) {
  const Tensor codes = Tensor::from_vector({1.f, -2.f, 0.5f, 4.f}, {2, 2});
  const std::vector<float> per_row = dequantize_fp8(codes, Tensor::from_vector({2.f, 0.25f}, {2, 1}), "t").to_floats();
  EXPECT_EQ(per_row, (std::vector<float>{2.f, -4.f, 0.125f, 1.f}));
  const std::vector<float> whole = dequantize_fp8(codes, Tensor::from_vector({3.f}, {1}), "t").to_floats();
  EXPECT_EQ(whole, (std::vector<float>{3.f, -6.f, 1.5f, 12.f}));
  gt::testing::expect_error([&] { dequantize_fp8(codes, Tensor::from_vector({1.f, 2.f}, {2}), "w.safetensors"); },
                            {"w.safetensors", "weight_scale", "[2]"});
}
