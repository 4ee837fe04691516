// The fused head ops against their composites (linear, softcap, then cross_entropy or token_logprobs on the
// materialised logits), values and gradients of both operands, and against finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

namespace {

// max |a - b| over max |b| (1 when b is all zero).
double rel_error(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_floats(), y = b.to_floats();
  EXPECT_EQ(x.size(), y.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(x[i]) - y[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(y[i])));
  }
  return diff / std::max(scale, 1e-30);
}

// softcap(hidden @ table^T) as the unfused ops compute it, flattened to [rows, V].
Tensor composite_logits(const Tensor& hidden, const Tensor& table, double cap) {
  Tensor logits = linear(hidden, table);
  if (cap > 0) logits = softcap(logits, cap);
  return logits.reshape({-1, table.size(0)});
}

constexpr int64_t kD = 12, kV = 40;
// A [2, 5] batch with rows that have no target, as prompt and padding positions do.
const std::vector<int64_t> kTargets = {-100, 3, kV - 1, 0, -100, -100, 7, 11, 2, -100};

}  // namespace

TEST(LinearCrossEntropy, EqualsTheCompositeForwardAndBackward) {
  const Tensor targets = Tensor::from_ids(kTargets, {2, 5});
  for (double cap : {0.0, 5.0}) {
    for (int64_t chunk : {int64_t{3}, int64_t{256}}) {  // several chunks, the last one short; one chunk
      SCOPED_TRACE(::testing::Message() << "cap " << cap << " chunk " << chunk);
      // Large hidden values push the logits into the softcap's bend, where its derivative matters.
      const Tensor h = leaf(randn({2, 5, kD}, 80, 3.f)), e = leaf(randn({kV, kD}, 81));
      const Tensor h2 = leaf(h.detach().clone()), e2 = leaf(e.detach().clone());
      const Tensor ours = linear_cross_entropy(h, e, targets, cap, chunk);
      const Tensor ref = cross_entropy(composite_logits(h2, e2, cap), targets.reshape({10}));
      EXPECT_EQ(ours.shape(), Shape{});
      EXPECT_NEAR(ours.item(), ref.item(), 1e-6 * std::fabs(ref.item()));
      backward({ours}, {Tensor::full({}, 0.7)});
      backward({ref}, {Tensor::full({}, 0.7)});
      EXPECT_LE(rel_error(h.grad(), h2.grad()), 1e-5);
      EXPECT_LE(rel_error(e.grad(), e2.grad()), 1e-5);
    }
  }
}

TEST(LinearCrossEntropy, AllIgnoredGivesZeroAndZeroGradient) {
  const Tensor h = leaf(randn({3, kD}, 82)), e = leaf(randn({kV, kD}, 83));
  Tensor loss = linear_cross_entropy(h, e, Tensor::from_ids({-100, -100, -100}, {3}), 5.0, 2);
  EXPECT_EQ(loss.item(), 0.f);
  loss.backward();
  EXPECT_EQ(h.grad().to_floats(), std::vector<float>(3 * kD, 0.f));
  EXPECT_EQ(e.grad().to_floats(), std::vector<float>(kV * kD, 0.f));
}

TEST(LinearCrossEntropy, Gradcheck) {
  const Tensor t = Tensor::from_ids({1, -100, 5, 0}, {4});
  EXPECT_LE(gradcheck1([&](auto& v) { return linear_cross_entropy(v[0], v[1], t, 3.0, 3); },
                       {leaf(randn({4, 5}, 84)), leaf(randn({6, 5}, 85))}),
            1.0);
}

TEST(LinearTokenLogprobs, EqualsTheCompositeForwardAndBackward) {
  const Tensor targets = Tensor::from_ids(kTargets, {2, 5});
  // The composite scores every row; rows without a target get class 0 and no upstream gradient.
  std::vector<int64_t> safe = kTargets;
  std::replace(safe.begin(), safe.end(), int64_t{-100}, int64_t{0});
  std::vector<float> up = randn({10}, 86).to_floats();
  for (size_t r = 0; r < kTargets.size(); ++r)
    if (kTargets[r] == -100) up[r] = 0.f;
  for (double cap : {0.0, 5.0}) {
    for (double temperature : {1.0, 0.7}) {
      SCOPED_TRACE(::testing::Message() << "cap " << cap << " temperature " << temperature);
      const Tensor h = leaf(randn({2, 5, kD}, 87, 3.f)), e = leaf(randn({kV, kD}, 88));
      const Tensor h2 = leaf(h.detach().clone()), e2 = leaf(e.detach().clone());
      const Tensor ours = linear_token_logprobs(h, e, targets, cap, temperature, 4);  // six rows: 4, then 2
      const Tensor ref = token_logprobs(scale(composite_logits(h2, e2, cap), 1.0 / temperature),
                                        Tensor::from_ids(safe, {10}));
      EXPECT_EQ(ours.shape(), (Shape{2, 5}));
      const std::vector<float> o = ours.to_floats(), rv = ref.to_floats();
      for (size_t r = 0; r < kTargets.size(); ++r)
        EXPECT_NEAR(o[r], kTargets[r] == -100 ? 0.f : rv[r], 1e-6 * std::max(1.f, std::fabs(rv[r]))) << "row " << r;
      backward({ours}, {Tensor::from_vector(up, {2, 5})});
      backward({ref}, {Tensor::from_vector(up, {10})});
      EXPECT_LE(rel_error(h.grad(), h2.grad()), 1e-5);
      EXPECT_LE(rel_error(e.grad(), e2.grad()), 1e-5);
    }
  }
}

TEST(LinearTokenLogprobs, Gradcheck) {
  const Tensor t = Tensor::from_ids({4, -100, 2}, {1, 3});
  EXPECT_LE(gradcheck1([&](auto& v) { return linear_token_logprobs(v[0], v[1], t, 3.0, 0.8, 1); },
                       {leaf(randn({1, 3, 5}, 89)), leaf(randn({6, 5}, 90))}),
            1.0);
}

TEST(LinearLoss, Errors) {
  const Tensor h = randn({2, 3, kD}, 91), e = randn({kV, kD}, 92);
  const Tensor t = Tensor::from_ids({1, 2, 3, 4, 5, 6}, {2, 3});
  expect_error([&] { linear_cross_entropy(h, e, Tensor::from_ids({1, 2, 3}, {1, 3}), 0, 4); },
               {"linear_cross_entropy", "f32[2, 3, 12]", "i64[1, 3]"});
  expect_error([&] { linear_cross_entropy(h, randn({kV, 5}, 93), t, 0, 4); }, {"linear_cross_entropy", "f32[40, 5]"});
  expect_error([&] { linear_cross_entropy(h, e, Tensor::from_ids({1, 2, 3, 4, 40, 6}, {2, 3}), 0, 4); },
               {"linear_cross_entropy", "target 40", "row 4", "40 classes"});
  expect_error([&] { linear_cross_entropy(h, e, t, 0, 0); }, {"linear_cross_entropy", "chunk 0"});
  expect_error([&] { linear_token_logprobs(h, e, Tensor::from_ids({1, -1, 3, 4, 5, 6}, {2, 3}), 0, 1.0, 4); },
               {"linear_token_logprobs", "target -1"});
  expect_error([&] { linear_token_logprobs(h, e, t, 0, 0.0, 4); }, {"linear_token_logprobs", "temperature"});
}
