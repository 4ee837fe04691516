#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

TEST(Rope, RotatesAPairByTheTableAngle) {
  // One pair (D = 2): x_0 pairs with x_1. Position 2 at frequency 0.15 is the angle 0.3.
  RopeTable tab = rope_table(Tensor::from_vector({0.15f}, {1}), Tensor::from_ids({2}, {1}, DType::I32));
  const float angle = 2.f * 0.15f;
  EXPECT_EQ(tab.cos.shape(), (Shape{1, 1}));
  EXPECT_FLOAT_EQ(tab.cos.item(), std::cos(angle));
  EXPECT_FLOAT_EQ(tab.sin.item(), std::sin(angle));
  const std::vector<float> e0 = rope(Tensor::from_vector({1, 0}, {1, 1, 1, 2}), tab.cos, tab.sin).to_floats();
  EXPECT_FLOAT_EQ(e0[0], std::cos(angle));
  EXPECT_FLOAT_EQ(e0[1], std::sin(angle));
  const std::vector<float> e1 = rope(Tensor::from_vector({0, 1}, {1, 1, 1, 2}), tab.cos, tab.sin).to_floats();
  EXPECT_FLOAT_EQ(e1[0], -std::sin(angle));
  EXPECT_FLOAT_EQ(e1[1], std::cos(angle));
}

TEST(Rope, NeoXPairingAndProportionalIdentity) {
  // D = 8, one rotated frequency: only dims 0 and 4 rotate; the zero-frequency dims pass through bit-exactly.
  Tensor inv = rope_inv_freq(8, 10000.0, 1);
  EXPECT_EQ(inv.to_floats(), (std::vector<float>{1, 0, 0, 0}));
  RopeTable tab = rope_table(inv, Tensor::arange(3));
  Tensor x = randn({1, 3, 2, 8}, 50);
  const std::vector<float> xv = x.to_floats(), yv = rope(x, tab.cos, tab.sin).to_floats();
  for (int64_t t = 0; t < 3; ++t)
    for (int64_t h = 0; h < 2; ++h) {
      const size_t o = static_cast<size_t>((t * 2 + h) * 8);
      for (size_t i : {1, 2, 3, 5, 6, 7}) EXPECT_EQ(yv[o + i], xv[o + i]);
      const float c = std::cos(static_cast<float>(t)), s = std::sin(static_cast<float>(t));
      EXPECT_NEAR(yv[o], xv[o] * c - xv[o + 4] * s, 1e-6);
      EXPECT_NEAR(yv[o + 4], xv[o + 4] * c + xv[o] * s, 1e-6);
    }
}

TEST(Rope, InvFreqMatchesTransformers) {
  // Gemma 4 full layers: head_dim 512, theta 1e6, 64 rotated angles with the exponent over 512, not 128.
  const std::vector<float> inv = rope_inv_freq(512, 1e6, 64).to_floats();
  ASSERT_EQ(inv.size(), 256u);
  EXPECT_EQ(inv[0], 1.f);
  EXPECT_EQ(inv[1], static_cast<float>(std::pow(1e6, -2.0 / 512)));
  EXPECT_NEAR(inv[63], std::pow(1e6, -126.0 / 512), 2.5e-7 * std::pow(1e6, -126.0 / 512));
  for (size_t i = 64; i < 256; ++i) EXPECT_EQ(inv[i], 0.f) << i;
  // Sliding layers: all 128 angles of a 256 head rotate.
  const std::vector<float> slide = rope_inv_freq(256, 1e4, 128).to_floats();
  ASSERT_EQ(slide.size(), 128u);
  EXPECT_NEAR(slide[127], std::pow(1e4, -254.0 / 256), 2.5e-7 * std::pow(1e4, -254.0 / 256));
  // Rounding the power to float32 before the reciprocal, as transformers' float32 code does, gives 0.964661658
  // here; rounding theta^-e directly would give 0.964661598.
  EXPECT_EQ(rope_inv_freq(512, 1e4, 2).to_floats()[1], 0.964661658f);
}

TEST(Rope, Gradcheck) {
  // Proportional table ([T, D/2], half the angles rotated) and a per-batch table ([B, T, D/2]).
  RopeTable prop = rope_table(rope_inv_freq(8, 100.0, 2), Tensor::arange(3));
  auto x = leaf(randn({2, 3, 2, 8}, 51));
  EXPECT_LE(gradcheck1([&](auto& v) { return rope(v[0], prop.cos, prop.sin); }, {x}), 1.0);
  RopeTable batch = rope_table(rope_inv_freq(8, 100.0, 4), Tensor::from_ids({5, 6, 7, 0, 1, 2}, {2, 3}));
  EXPECT_EQ(batch.cos.shape(), (Shape{2, 3, 4}));
  EXPECT_LE(gradcheck1([&](auto& v) { return rope(v[0], batch.cos, batch.sin); }, {x}), 1.0);
  // bf16 tables are widened; the rotation stays differentiable.
  EXPECT_LE(gradcheck1([&](auto& v) { return rope(v[0], batch.cos.to(DType::BF16), batch.sin.to(DType::BF16)); },
                       {x}),
            1.0);
}

TEST(Rope, Errors) {
  RopeTable tab = rope_table(rope_inv_freq(8, 100.0, 4), Tensor::arange(3));
  expect_error([&] { rope(Tensor::zeros({1, 3, 2, 7}), tab.cos, tab.sin); }, {"rope", "f32[1, 3, 2, 7]"});
  expect_error([&] { rope(Tensor::zeros({3, 2, 8}), tab.cos, tab.sin); }, {"rope", "f32[3, 2, 8]"});
  expect_error([&] { rope(Tensor::zeros({1, 4, 2, 8}), tab.cos, tab.sin); }, {"rope", "f32[3, 4]", "f32[1, 4, 2, 8]"});
  expect_error([&] { rope(Tensor::zeros({1, 3, 2, 8}), tab.cos, tab.sin.slice(1, 0, 2)); }, {"rope", "f32[3, 2]"});
  expect_error([] { rope_inv_freq(512, 1e6, 257); }, {"rope_inv_freq", "257"});
  expect_error([] { rope_inv_freq(7, 1e6, 1); }, {"rope_inv_freq", "7"});
  expect_error([] { rope_table(Tensor::ones({4}), Tensor::ones({3})); }, {"rope_table", "f32[3]"});
}
