#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "base/error.h"

using namespace gt;

TEST(BF16, RoundsToNearestEven) {
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(round_to_bf16(1.0f + std::ldexp(1.0f, -8)), 1.0f);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
  EXPECT_EQ(round_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 1.0f + std::ldexp(1.0f, -6));
  // Just above the halfway point rounds up.
  EXPECT_EQ(round_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 1.0f + std::ldexp(1.0f, -7));
  EXPECT_EQ(float_to_bf16(-2.0f).bits, 0xC000);
  EXPECT_EQ(float_to_bf16(std::sqrt(1536.0f)).bits, float_to_bf16(39.25f).bits);  // docs/model.md §2.2: embed scale 39.25
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(bf16_to_float(float_to_bf16(std::numeric_limits<float>::infinity()))));
  // The largest float rounds to infinity in bf16 (it is above bf16's max + half an ulp).
  EXPECT_TRUE(std::isinf(round_to_bf16(std::numeric_limits<float>::max())));
}

TEST(Tensor, DtypesConvert) {
  Tensor f = Tensor::from_vector({1.5f, -2.25f, 3.0f}, {3});
  EXPECT_EQ(f.to(DType::BF16).dtype(), DType::BF16);
  EXPECT_EQ(f.to(DType::BF16).to_floats(), (std::vector<float>{1.5f, -2.25f, 3.0f}));
  EXPECT_EQ(f.to(DType::I32).to_ids(), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(Tensor::arange(4, DType::I32).to(DType::F32).to_floats(), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_THROW(f.data<int64_t>(), Error);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor tr = t.transpose(0, 1);
  EXPECT_EQ(tr.shape(), (Shape{3, 2}));
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.to_floats(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(tr.raw(), t.raw());
  Tensor s = t.slice(1, 1, 3);
  EXPECT_EQ(s.to_floats(), (std::vector<float>{1, 2, 4, 5}));
  t.data<float>()[1] = 10;  // writes through the shared storage
  EXPECT_EQ(s.to_floats()[0], 10);
  Tensor e = Tensor::from_vector({7, 8}, {2, 1}).expand({2, 3});
  EXPECT_EQ(e.strides()[1], 0);
  EXPECT_EQ(e.to_floats(), (std::vector<float>{7, 7, 7, 8, 8, 8}));
  Tensor c = tr.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.raw(), t.raw());
  EXPECT_EQ(t.reshape({3, -1}).shape(), (Shape{3, 2}));
  EXPECT_EQ(t.reshape({6}).raw(), t.raw());  // contiguous reshape is a view
  EXPECT_EQ(t.permute({1, 0}).to_floats(), tr.to_floats());
  EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 2, 3}));
}

TEST(Tensor, BadShapesNameTheOp) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  try {
    add(a, b);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("add"), std::string::npos) << m;
    EXPECT_NE(m.find("[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("[4, 5]"), std::string::npos) << m;
  }
  try {
    matmul(a, b);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("matmul"), std::string::npos) << m;
    EXPECT_NE(m.find("f32[2, 3]"), std::string::npos) << m;
    EXPECT_NE(m.find("f32[4, 5]"), std::string::npos) << m;
  }
  EXPECT_THROW(a.reshape({4}), Error);
  EXPECT_THROW(a.slice(1, 2, 5), Error);
  EXPECT_THROW(add(a, Tensor::zeros({2, 3}, DType::I64)), Error);
}
