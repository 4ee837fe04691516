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
}
