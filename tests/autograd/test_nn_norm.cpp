#include <gtest/gtest.h>

#include <cmath>

#include "autograd/parallel.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

TEST(RmsNorm, HandWorked) {
  // mean(x^2) = 12.5, so y = [3, 4] / sqrt(12.5) = [3/5, 4/5] * sqrt(2).
  Tensor x = Tensor::from_vector({3, 4}, {1, 2});
  const std::vector<float> y = rms_norm(x, Tensor(), 0.0).to_floats();
  EXPECT_FLOAT_EQ(y[0], 0.6f * std::sqrt(2.f));
  EXPECT_FLOAT_EQ(y[1], 0.8f * std::sqrt(2.f));
  // The scale is w, not 1 + w.
  const std::vector<float> yw = rms_norm(x, Tensor::from_vector({2, 0.5f}, {2}), 0.0).to_floats();
  EXPECT_FLOAT_EQ(yw[0], 1.2f * std::sqrt(2.f));
  EXPECT_FLOAT_EQ(yw[1], 0.4f * std::sqrt(2.f));
  // eps goes inside the root: a zero row stays finite.
  EXPECT_EQ(rms_norm(Tensor::zeros({1, 3}), Tensor(), 1e-6).to_floats(), (std::vector<float>{0, 0, 0}));
  // bf16 input gives the f32 result of its (exact) f32 values.
  Tensor xb = randn({3, 8}, 40).to(DType::BF16);
  Tensor w = randn({8}, 41);
  Tensor yb = rms_norm(xb, w, 1e-6);
  EXPECT_EQ(yb.dtype(), DType::F32);
  EXPECT_EQ(yb.to_floats(), rms_norm(xb.to(DType::F32), w, 1e-6).to_floats());
}

TEST(RmsNorm, Gradcheck) {
  auto x = leaf(randn({2, 3, 6}, 42)), w = leaf(randn({6}, 43));
  EXPECT_LE(gradcheck1([](auto& v) { return rms_norm(v[0], v[1], 1e-6); }, {x, w}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return rms_norm(v[0], Tensor(), 1e-6); }, {x}), 1.0);
  // Only the weight needs a gradient (a frozen activation).
  EXPECT_LE(gradcheck1([&](auto& v) { return rms_norm(x.detach(), v[0], 0.1); }, {w}), 1.0);
}

TEST(RmsNorm, WeightGradientIsDeterministicAcrossThreadCounts) {
  Tensor x = randn({517, 24}, 44), up = randn({517, 24}, 45);
  auto grads_with = [&](int threads) {
    set_num_threads(threads);
    Tensor xl = leaf(x.clone()), w = leaf(randn({24}, 46));
    rms_norm(xl, w, 1e-6).backward(up);
    std::vector<float> all = w.grad().to_floats(), gx = xl.grad().to_floats();
    all.insert(all.end(), gx.begin(), gx.end());
    return all;
  };
  const int before = num_threads();
  const std::vector<float> one = grads_with(1), two = grads_with(2);
  set_num_threads(before);
  EXPECT_EQ(one, two);
}

TEST(RmsNorm, Errors) {
  expect_error([] { rms_norm(Tensor::zeros({2, 8}), Tensor::ones({7}), 1e-6); },
               {"rms_norm: weight f32[7] does not match last dim of f32[2, 8]"});
  expect_error([] { rms_norm(Tensor::zeros({2, 8}, DType::I32), Tensor(), 1e-6); }, {"rms_norm", "i32[2, 8]"});
  expect_error([] { rms_norm(Tensor::zeros({2, 8}), Tensor::ones({8}, DType::I64), 1e-6); },
               {"rms_norm", "i64[8]"});
}
