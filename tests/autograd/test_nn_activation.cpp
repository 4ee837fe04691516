#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

TEST(GeluTanh, HandWorked) {
  const std::vector<float> y = gelu_tanh(Tensor::from_vector({0, 1, -1, 30, -30}, {5})).to_floats();
  EXPECT_EQ(y[0], 0.f);
  EXPECT_NEAR(y[1], 0.8411920f, 1e-6);
  EXPECT_NEAR(y[2], 0.8411920f - 1.f, 1e-6);  // gelu(-x) = gelu(x) - x
  EXPECT_EQ(y[3], 30.f);
  EXPECT_EQ(y[4], -0.f);
  EXPECT_EQ(gelu_tanh(Tensor::from_vector({1}, {1}, DType::BF16)).dtype(), DType::F32);
}

TEST(GeluTanh, Gradcheck) {
  EXPECT_LE(gradcheck1([](auto& v) { return gelu_tanh(v[0]); }, {leaf(randn({4, 5}, 60, 2.f))}), 1.0);
}

TEST(GeluTanhMul, HandWorked) {
  // gelu_tanh(1) = 0.8411920, gelu_tanh(-1) = -0.1588080, gelu_tanh(0) = 0.
  const std::vector<float> y =
      gelu_tanh_mul(Tensor::from_vector({1, -1, 0}, {3}), Tensor::from_vector({2, -3, 5}, {3})).to_floats();
  EXPECT_NEAR(y[0], 2 * 0.8411920f, 2e-6);
  EXPECT_NEAR(y[1], 3 * 0.1588080f, 2e-6);
  EXPECT_EQ(y[2], 0.f);
}

TEST(GeluTanhMul, Gradcheck) {
  EXPECT_LE(gradcheck([](auto& v) { return std::vector<Tensor>{gelu_tanh_mul(v[0], v[1])}; },
                      {leaf(randn({4, 6}, 62, 2.f)), leaf(randn({4, 6}, 63))}),
            1.0);
  // Only one operand differentiated.
  EXPECT_LE(gradcheck([](auto& v) { return std::vector<Tensor>{gelu_tanh_mul(v[0], v[1])}; },
                      {randn({3, 5}, 64, 2.f), leaf(randn({3, 5}, 65))}),
            1.0);
}

// The fused op does the composite's float operations: values and gradients equal bit for bit; and shapes the
// fused pass does not take (broadcasting) go through the composite.
TEST(GeluTanhMul, EqualsTheComposite) {
  for (const Shape& bs : {Shape{5, 7}, Shape{7}}) {
    const Tensor a = leaf(randn({5, 7}, 66, 2.f)), b = leaf(randn(bs, 67));
    const Tensor a2 = leaf(a.detach().clone()), b2 = leaf(b.detach().clone());
    const Tensor y = gelu_tanh_mul(a, b), y2 = mul(gelu_tanh(a2), b2);
    EXPECT_EQ(y.to_floats(), y2.to_floats());
    const Tensor up = randn({5, 7}, 68);
    backward({y}, {up});
    backward({y2}, {up});
    EXPECT_EQ(a.grad().to_floats(), a2.grad().to_floats());
    EXPECT_EQ(b.grad().to_floats(), b2.grad().to_floats());
  }
}

TEST(Softcap, HandWorked) {
  const std::vector<float> y = softcap(Tensor::from_vector({0, 1e30f, -1e30f, 1e-3f, 45}, {5}), 30.0).to_floats();
  EXPECT_EQ(y[0], 0.f);
  EXPECT_EQ(y[1], 30.f);
  EXPECT_EQ(y[2], -30.f);
  EXPECT_NEAR(y[3], 1e-3f, 1e-9);  // near zero it is the identity
  EXPECT_NEAR(y[4], 30.f * std::tanh(1.5f), 1e-5);
}

TEST(Softcap, Gradcheck) {
  EXPECT_LE(gradcheck1([](auto& v) { return softcap(v[0], 2.0); }, {leaf(randn({4, 5}, 61, 3.f))}), 1.0);
}

TEST(Activation, Errors) {
  expect_error([] { softcap(Tensor::ones({2}), 0.0); }, {"softcap", "cap"});
  expect_error([] { softcap(Tensor::zeros({2}, DType::I32), 30.0); }, {"softcap", "i32[2]"});
  expect_error([] { gelu_tanh(Tensor::zeros({2}, DType::I64)); }, {"gelu_tanh", "i64[2]"});
  expect_error([] { gelu_tanh_mul(Tensor::ones({2}), Tensor::zeros({2}, DType::I32)); }, {"gelu_tanh_mul", "i32[2]"});
}
