#include <gtest/gtest.h>

#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

TEST(Elementwise, ForwardBroadcasts) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector({10, 20, 30}, {3});
  EXPECT_EQ(add(a, b).to_floats(), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  EXPECT_EQ(sub(a, b).to_floats(), (std::vector<float>{-9, -18, -27, -6, -15, -24}));
  Tensor c = Tensor::from_vector({2, 4}, {2, 1});
  EXPECT_EQ(mul(a, c).to_floats(), (std::vector<float>{2, 4, 6, 16, 20, 24}));
  EXPECT_EQ(div(a, c).to_floats(), (std::vector<float>{0.5f, 1, 1.5f, 1, 1.25f, 1.5f}));
  EXPECT_EQ(scale(a, 0.5).to_floats(), (std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3}));
  EXPECT_EQ(add(a.to(DType::BF16), b).dtype(), DType::F32);
}

TEST(Elementwise, GradcheckBroadcasting) {
  auto a = leaf(randn({2, 3, 4}, 1)), b = leaf(randn({3, 1}, 2)), c = leaf(randn({4}, 3));
  Tensor pos = leaf(add(scale(randn({3, 1}, 4), 0.3), Tensor::full({1}, 2.0)).detach());
  EXPECT_LE(gradcheck1([](auto& x) { return add(x[0], x[1]); }, {a, b}), 1.0);
  EXPECT_LE(gradcheck1([](auto& x) { return sub(x[0], x[1]); }, {a, c}), 1.0);
  EXPECT_LE(gradcheck1([](auto& x) { return mul(x[0], x[1]); }, {a, b}), 1.0);
  EXPECT_LE(gradcheck1([](auto& x) { return div(x[0], x[1]); }, {a, pos}), 1.0);
  EXPECT_LE(gradcheck1([](auto& x) { return scale(x[0], -1.5); }, {a}), 1.0);
}

TEST(Reduce, SumMean) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_FLOAT_EQ(sum(a).item(), 21);
  EXPECT_FLOAT_EQ(mean(a).item(), 3.5);
  EXPECT_EQ(sum(a, {0}).to_floats(), (std::vector<float>{5, 7, 9}));
  EXPECT_EQ(sum(a, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(mean(a, {-1}).to_floats(), (std::vector<float>{2, 5}));
  auto x = leaf(randn({3, 4, 5}, 7));
  EXPECT_LE(gradcheck1([](auto& v) { return sum(v[0]); }, {x}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return mean(v[0], {0, 2}); }, {x}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return sum(v[0], {1}, true); }, {x}), 1.0);
}

TEST(Views, Gradcheck) {
  auto x = leaf(randn({3, 4, 5}, 9));
  EXPECT_LE(gradcheck1([](auto& v) { return v[0].permute({2, 0, 1}).contiguous(); }, {x}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return v[0].transpose(0, 2).reshape({5, 12}); }, {x}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return v[0].slice(1, 1, 3); }, {x}), 1.0);
  auto y = leaf(randn({4, 1}, 10));
  EXPECT_LE(gradcheck1([](auto& v) { return v[0].expand({2, 4, 3}); }, {y}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return v[0].to(DType::BF16).to(DType::F32); }, {y},
                       GradcheckOptions{.h = 1e-1, .atol = 2e-2, .rtol = 2e-2}),
            1.0)
      << "through bf16 the forward is piecewise constant; only a coarse step sees the slope";
}

TEST(Matmul, ForwardMatchesNaive) {
  Tensor a = randn({3, 4}, 11), b = randn({4, 5}, 12);
  auto av = a.to_floats(), bv = b.to_floats(), cv = matmul(a, b).to_floats();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) {
      double acc = 0;
      for (int k = 0; k < 4; ++k) acc += av[i * 4 + k] * bv[k * 5 + j];
      EXPECT_NEAR(cv[i * 5 + j], acc, 1e-5);
    }
  // Transposed operands give the same product as their contiguous copies.
  Tensor bt = randn({5, 4}, 13);
  EXPECT_EQ(matmul(a, bt.transpose(0, 1)).to_floats(), matmul(a, bt.transpose(0, 1).contiguous()).to_floats());
  EXPECT_EQ(linear(a, bt).to_floats(), matmul(a, bt.transpose(0, 1).contiguous()).to_floats());
}

TEST(Matmul, Gradcheck) {
  auto a = leaf(randn({2, 3, 4}, 14)), b = leaf(randn({4, 5}, 15)), bb = leaf(randn({2, 4, 5}, 16));
  auto b1 = leaf(randn({1, 4, 5}, 17)), w = leaf(randn({5, 4}, 18));
  EXPECT_LE(gradcheck1([](auto& v) { return matmul(v[0], v[1]); }, {a, b}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return matmul(v[0], v[1]); }, {a, bb}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return matmul(v[0], v[1]); }, {a, b1}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return matmul(v[0].transpose(1, 2), v[1]); }, {leaf(randn({2, 4, 3}, 19)), leaf(randn({2, 4, 6}, 20))}), 1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return linear(v[0], v[1]); }, {a, w}), 1.0);
  // A transposed 2-D left operand (passed to BLAS as a transpose), and a non-contiguous upstream gradient.
  EXPECT_LE(gradcheck1([](auto& v) { return matmul(v[0].transpose(0, 1), v[1]); },
                       {leaf(randn({4, 3}, 21)), leaf(randn({4, 5}, 22))}),
            1.0);
  EXPECT_LE(gradcheck1([](auto& v) { return linear(v[0], v[1]).transpose(0, 2); }, {a, w}), 1.0);
}
