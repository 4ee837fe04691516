#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "base/error.h"
#include "model/sampler.h"

using namespace gt;

namespace {
// logits = log of the given unnormalised weights, so probabilities are easy to state.
std::vector<float> log_weights(const std::vector<double>& w) {
  std::vector<float> l;
  for (double x : w) l.push_back(static_cast<float>(std::log(x)));
  return l;
}
}  // namespace

TEST(Sampler, GreedyAtTemperatureZero) {
  const std::vector<float> l = {0.1f, 2.f, 2.f, -1.f};
  Sampler s({.temperature = 0});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s.sample(l.data(), 4), 1);  // first of the tied maxima
}

TEST(Sampler, TopKSupportIsTheKLargest) {
  const auto l = log_weights({1, 8, 2, 6, 4, 3});
  Sampler s({.temperature = 1, .top_k = 3, .seed = 1});
  const auto sup = s.support(l.data(), 6);
  ASSERT_EQ(sup.size(), 3u);
  EXPECT_EQ(sup[0].first, 1);
  EXPECT_EQ(sup[1].first, 3);
  EXPECT_EQ(sup[2].first, 4);
  EXPECT_NEAR(sup[0].second, 8.0 / 18, 1e-6);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(s.sample(l.data(), 6));
  EXPECT_EQ(seen, (std::set<int64_t>{1, 3, 4}));
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  // probabilities 0.4, 0.3, 0.2, 0.1: top_p 0.6 keeps {0.4, 0.3} (0.4 < 0.6, 0.7 >= 0.6); 0.7 exactly keeps the
  // same two; 0.71 needs the third.
  const auto l = log_weights({4, 3, 2, 1});
  EXPECT_EQ(Sampler({.top_p = 0.6}).support(l.data(), 4).size(), 2u);
  EXPECT_EQ(Sampler({.top_p = 0.71}).support(l.data(), 4).size(), 3u);
  EXPECT_EQ(Sampler({.top_p = 0.3}).support(l.data(), 4).size(), 1u);  // never empty
  const auto sup = Sampler({.top_p = 0.6}).support(l.data(), 4);
  EXPECT_NEAR(sup[0].second, 4.0 / 7, 1e-6);
  // Drawn frequencies follow the renormalised nucleus: 4/7 and 3/7 (20000 draws: 3-sigma ~ 0.011).
  Sampler s({.top_p = 0.6, .seed = 9});
  std::map<int64_t, int> count;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++count[s.sample(l.data(), 4)];
  EXPECT_EQ(count.size(), 2u);
  EXPECT_NEAR(count[0] / double(n), 4.0 / 7, 0.015);
}

TEST(Sampler, TopPAfterTopKRenormalises) {
  // top_k 2 leaves 0.5/0.8 and 0.3/0.8; top_p 0.6 then keeps only the first (0.625 >= 0.6).
  const auto l = log_weights({5, 3, 1, 1});
  EXPECT_EQ(Sampler({.top_k = 2, .top_p = 0.6}).support(l.data(), 4).size(), 1u);
  EXPECT_EQ(Sampler({.top_p = 0.6}).support(l.data(), 4).size(), 2u);
}

TEST(Sampler, TemperatureSharpens) {
  const auto l = log_weights({2, 1});
  const auto sup = Sampler({.temperature = 0.5}).support(l.data(), 2);
  EXPECT_NEAR(sup[0].second, 4.0 / 5, 1e-6);  // p ∝ w^(1/T) = 4 : 1
}

TEST(Sampler, SeedReproducesAndStreamsDiffer) {
  std::vector<float> l(1000);
  for (int i = 0; i < 1000; ++i) l[i] = std::sin(i * 0.37f) * 3;
  auto draw = [&](uint64_t seed, uint64_t stream) {
    Sampler s({.top_k = 50, .top_p = 0.95, .seed = seed}, stream);
    std::vector<int64_t> t;
    for (int i = 0; i < 64; ++i) t.push_back(s.sample(l.data(), 1000));
    return t;
  };
  EXPECT_EQ(draw(1, 0), draw(1, 0));
  EXPECT_NE(draw(1, 0), draw(1, 1));
  EXPECT_NE(draw(1, 0), draw(2, 0));
  // Saving and restoring the state continues the same stream.
  Sampler a({.seed = 3}), b({.seed = 3});
  for (int i = 0; i < 5; ++i) a.uniform();
  b.set_rng_state(a.rng_state());
  EXPECT_EQ(a.uniform(), b.uniform());
}

TEST(Sampler, BadOptionsAndLogits) {
  EXPECT_THROW(Sampler({.temperature = -1}), Error);
  EXPECT_THROW(Sampler({.top_p = 0}), Error);
  EXPECT_THROW(Sampler({.top_k = -2}), Error);
  const std::vector<float> nan = {NAN, NAN};
  EXPECT_THROW(Sampler({}).sample(nan.data(), 2), Error);
}
