#include <gtest/gtest.h>

#include <cmath>

#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

namespace {
// log softmax of one row, in double.
double naive_logprob(const std::vector<float>& row, int64_t t) {
  double m = row[0], s = 0;
  for (float v : row) m = std::max(m, static_cast<double>(v));
  for (float v : row) s += std::exp(v - m);
  return row[static_cast<size_t>(t)] - m - std::log(s);
}
}  // namespace

TEST(CrossEntropy, HandWorked) {
  // Uniform logits: every class has probability 1/V, the loss is log V.
  Tensor flat = Tensor::full({3, 7}, 2.5);
  Tensor t = Tensor::from_ids({0, 6, 3}, {3}, DType::I32);
  EXPECT_FLOAT_EQ(cross_entropy(flat, t).item(), std::log(7.f));
  EXPECT_FLOAT_EQ(cross_entropy(flat, t, -100, Reduction::Sum).item(), 3 * std::log(7.f));
  EXPECT_EQ(cross_entropy(flat, t).shape(), Shape{});
  // Ignored rows are not counted; an in-range ignore_index works too.
  Tensor x = randn({3, 5}, 70);
  const std::vector<float> xv = x.to_floats();
  const double l1 = -naive_logprob({xv.begin() + 5, xv.begin() + 10}, 2);
  EXPECT_NEAR(cross_entropy(x, Tensor::from_ids({-100, 2, -100}, {3})).item(), l1, 1e-6);
  EXPECT_NEAR(cross_entropy(x, Tensor::from_ids({0, 2, 0}, {3}), 0).item(), l1, 1e-6);
  // bf16 logits are widened.
  EXPECT_NEAR(cross_entropy(x.to(DType::BF16), Tensor::from_ids({1, 2, 3}, {3})).item(),
              cross_entropy(x.to(DType::BF16).to(DType::F32), Tensor::from_ids({1, 2, 3}, {3})).item(), 0);
}

TEST(CrossEntropy, AllIgnoredGivesZeroAndZeroGradient) {
  Tensor x = leaf(randn({2, 4}, 71));
  Tensor ids = Tensor::from_ids({-100, -100}, {2});
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    x.zero_grad();
    Tensor loss = cross_entropy(x, ids, -100, r);
    EXPECT_EQ(loss.item(), 0.f);
    loss.backward();
    EXPECT_EQ(x.grad().to_floats(), std::vector<float>(8, 0.f));
  }
}

TEST(CrossEntropy, Gradcheck) {
  auto x = leaf(randn({5, 6}, 72, 2.f));
  Tensor t = Tensor::from_ids({1, -100, 5, 0, -100}, {5});
  EXPECT_LE(gradcheck1([&](auto& v) { return cross_entropy(v[0], t); }, {x}), 1.0);
  EXPECT_LE(gradcheck1([&](auto& v) { return cross_entropy(v[0], t, -100, Reduction::Sum); }, {x}), 1.0);
}

TEST(TokenLogprobs, ForwardAndGradcheck) {
  auto x = leaf(randn({4, 6}, 73, 2.f));
  Tensor t = Tensor::from_ids({3, 0, 5, 3}, {4}, DType::I32);
  const std::vector<float> lp = token_logprobs(x, t).to_floats(), xv = x.to_floats();
  const std::vector<int64_t> tv = t.to_ids();
  for (size_t n = 0; n < 4; ++n)
    EXPECT_NEAR(lp[n], naive_logprob({xv.begin() + 6 * n, xv.begin() + 6 * (n + 1)}, tv[n]), 1e-6);
  EXPECT_LE(gradcheck1([&](auto& v) { return token_logprobs(v[0], t); }, {x}), 1.0);
  // The summed log-probabilities are minus the summed cross-entropy.
  EXPECT_NEAR(sum(token_logprobs(x, t)).item(), -cross_entropy(x, t, -100, Reduction::Sum).item(), 1e-5);
}

TEST(Loss, Errors) {
  Tensor x = randn({3, 5}, 74);
  expect_error([&] { cross_entropy(x, Tensor::from_ids({1, 5, 0}, {3})); },
               {"cross_entropy", "target 5", "row 1", "5 classes"});
  expect_error([&] { cross_entropy(x, Tensor::from_ids({1, -1, 0}, {3})); }, {"cross_entropy", "target -1"});
  expect_error([&] { cross_entropy(x, Tensor::from_ids({1, 2}, {2})); }, {"cross_entropy", "i64[2]", "f32[3, 5]"});
  expect_error([&] { cross_entropy(x, Tensor::ones({3})); }, {"cross_entropy", "f32[3]"});
  expect_error([&] { cross_entropy(randn({3}, 75), Tensor::from_ids({1}, {1})); }, {"cross_entropy", "f32[3]"});
  expect_error([&] { token_logprobs(x, Tensor::from_ids({0, 0, 7}, {3})); },
               {"token_logprobs", "target 7", "row 2"});
}
