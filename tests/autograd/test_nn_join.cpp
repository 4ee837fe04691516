#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

TEST(Join, ConcatForward) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2}), b = Tensor::from_vector({5, 6}, {2, 1});
  Tensor c = concat({a, b.to(DType::BF16)}, -1);
  EXPECT_EQ(c.dtype(), DType::F32);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_floats(), (std::vector<float>{1, 2, 5, 3, 4, 6}));
  EXPECT_EQ(concat({a, a.transpose(0, 1)}, 0).to_floats(), (std::vector<float>{1, 2, 3, 4, 1, 3, 2, 4}));
}

TEST(Join, SplitForwardRoundTrips) {
  Tensor x = randn({2, 5, 3}, 80);
  std::vector<Tensor> parts = split(x, {2, 0, 3}, 1);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(parts[1].shape(), (Shape{2, 0, 3}));
  EXPECT_EQ(parts[2].shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(concat(parts, 1).to_floats(), x.to_floats());
  EXPECT_EQ(split(x.to(DType::BF16), {4, 1}, 1)[1].dtype(), DType::F32);
}

TEST(Join, Gradcheck) {
  auto a = leaf(randn({2, 1, 3}, 81)), b = leaf(randn({2, 2, 3}, 82)), c = leaf(randn({2, 3, 3}, 83));
  EXPECT_LE(gradcheck1([](auto& v) { return concat({v[0], v[1], v[2]}, 1); }, {a, b, c}), 1.0);
  // Only one part needs a gradient.
  EXPECT_LE(gradcheck1([&](auto& v) { return concat({a.detach(), v[0]}, -2); }, {b}), 1.0);
  auto x = leaf(randn({2, 5, 3}, 84));
  // A middle-dim split with only the middle output used: the others receive no gradient at all.
  EXPECT_LE(gradcheck1([](auto& v) { return split(v[0], {1, 3, 1}, 1)[1]; }, {x}), 1.0);
  EXPECT_LE(gradcheck([](auto& v) { return split(v[0], {1, 3, 1}, 1); }, {x}), 1.0);
  // Two outputs of the same split meeting again downstream.
  EXPECT_LE(gradcheck1([](auto& v) {
              auto p = split(v[0], {2, 1}, 2);
              return mul(p[0], p[1]);
            },
                       {x}),
            1.0);
}

TEST(Join, Errors) {
  expect_error([] { concat({Tensor::zeros({2, 3}), Tensor::zeros({3, 3})}, 1); },
               {"concat", "f32[3, 3]", "f32[2, 3]"});
  expect_error([] { concat({Tensor::zeros({2, 3}), Tensor::zeros({2, 3, 1})}, 0); }, {"concat", "f32[2, 3, 1]"});
  expect_error([] { concat({}, 0); }, {"concat"});
  expect_error([] { concat({Tensor::zeros({2, 3})}, 2); }, {"concat", "dim 2"});
  expect_error([] { split(Tensor::zeros({2, 5}), {2, 2}, 1); }, {"split", "[2, 2]", "f32[2, 5]"});
  expect_error([] { split(Tensor::zeros({2, 5}), {6, -1}, 1); }, {"split", "negative"});
}
