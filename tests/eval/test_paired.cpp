// The per-sample comparison of two evals: counts and the mean difference by hand, the bootstrap interval against the
// exact distribution it estimates, and the errors for files that cannot be paired.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "base/error.h"
#include "eval/paired.h"
#include "support/error_message.h"
#include "support/files.h"

using gt::eval::compare_paired;
using gt::eval::SampleScores;
using gt::testing::TempDir;
using gt::testing::thrown_message;

namespace {

SampleScores scores(const std::vector<double>& v) {
  SampleScores s;
  for (std::size_t i = 0; i < v.size(); ++i) s["s" + std::to_string(1000 + i)] = v[i];
  return s;
}

// P(K <= k) for K ~ Binomial(n, p).
double binomial_cdf(int k, int n, double p) {
  double sum = 0;
  for (int i = 0; i <= k; ++i)
    sum += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) + i * std::log(p) +
                    (n - i) * std::log1p(-p));
  return sum;
}

// The smallest k with P(K <= k) >= q.
int binomial_quantile(double q, int n, double p) {
  int k = 0;
  while (binomial_cdf(k, n, p) < q) ++k;
  return k;
}

}  // namespace

TEST(Paired, CountsAndMeanDifferenceByHand) {
  // B - A per sample: +0.5, 0, -0.25, +0.25, 0 -> better 2, worse 1, same 2, mean +0.1.
  const SampleScores a = scores({0.25, 1.0, 0.5, 0.0, 0.75});
  const SampleScores b = scores({0.75, 1.0, 0.25, 0.25, 0.75});
  const auto p = compare_paired(a, "A", b, "B");
  EXPECT_EQ(p.n, 5u);
  EXPECT_EQ(p.better, 2u);
  EXPECT_EQ(p.worse, 1u);
  EXPECT_EQ(p.same, 2u);
  EXPECT_NEAR(p.mean_difference, 0.1, 1e-15);
  // Every resampled mean lies between the smallest and largest difference.
  EXPECT_GE(p.low, -0.25);
  EXPECT_LE(p.high, 0.5);
  EXPECT_LE(p.low, p.mean_difference);
  EXPECT_GE(p.high, p.mean_difference);
}

TEST(Paired, AConstantDifferenceHasAPointInterval) {
  const SampleScores a = scores({0.1, 0.2, 0.3, 0.4});
  const SampleScores b = scores({0.15, 0.25, 0.35, 0.45});
  const auto p = compare_paired(a, "A", b, "B", 500);
  EXPECT_EQ(p.better, 4u);
  EXPECT_NEAR(p.low, 0.05, 1e-12);
  EXPECT_NEAR(p.high, 0.05, 1e-12);
  EXPECT_EQ(p.share_not_above_zero, 0.0);
  EXPECT_EQ(p.resamples, 500);
}

// With differences +1 (27 samples) and -1 (23), a resample's mean difference is (2K - 50) / 50 with
// K ~ Binomial(50, 0.54), so the interval and the share <= 0 have exact values to meet. The bootstrap estimates
// them from 10,000 resamples: a percentile's level is off by about sqrt(0.025 * 0.975 / 10,000) = 0.0016 (one
// standard error), so each end must lie between the exact quantiles at levels 0.5 percentage points either side;
// the share's standard error is at most 0.005, and it must be within 0.016 of P(K <= 25).
TEST(Paired, BootstrapMatchesTheExactBinomialDistribution) {
  std::vector<double> a(50), b(50);
  for (std::size_t i = 0; i < 50; ++i) (i < 27 ? b : a)[i] = 1.0;
  const auto p = compare_paired(scores(a), "A", scores(b), "B");
  EXPECT_EQ(p.better, 27u);
  EXPECT_EQ(p.worse, 23u);
  EXPECT_NEAR(p.mean_difference, 4.0 / 50, 1e-12);

  const auto mean_at = [](int k) { return (2.0 * k - 50) / 50; };
  EXPECT_GE(p.low, mean_at(binomial_quantile(0.020, 50, 0.54)) - 1e-12);
  EXPECT_LE(p.low, mean_at(binomial_quantile(0.030, 50, 0.54)) + 1e-12);
  EXPECT_GE(p.high, mean_at(binomial_quantile(0.970, 50, 0.54)) - 1e-12);
  EXPECT_LE(p.high, mean_at(binomial_quantile(0.980, 50, 0.54)) + 1e-12);
  EXPECT_NEAR(p.share_not_above_zero, binomial_cdf(25, 50, 0.54), 0.016);

  // The seed is fixed: the same inputs give the same interval.
  const auto again = compare_paired(scores(a), "A", scores(b), "B");
  EXPECT_EQ(again.low, p.low);
  EXPECT_EQ(again.high, p.high);
}

TEST(Paired, SampleSetsMustMatch) {
  SampleScores a = scores({0.1, 0.2}), b = scores({0.1, 0.2});
  b.erase(b.begin());
  b["extra"] = 1.0;
  const std::string m = thrown_message<gt::Error>([&] { compare_paired(a, "runs/a", b, "runs/b"); });
  EXPECT_NE(m.find("runs/b: has no sample 's1000'"), std::string::npos) << m;
  const std::string m2 = thrown_message<gt::Error>([&] { compare_paired(b, "runs/b", a, "runs/a"); });
  EXPECT_NE(m2.find("has no sample"), std::string::npos) << m2;
}

TEST(Paired, ReadsScoresAndNamesTheFileOnBadInput) {
  TempDir tmp;
  // Weights whose maximum is 0.5: the score is reward / 0.5.
  const auto report = tmp.write(
      "report.json",
      R"({"overall": {}, "inputs": {"weights": {"valid_json": 0.5, "in_candidates": 0, "recall": 0,
          "no_wrong_picks": 0, "wrong_pick": 0, "max_wrong_picks": 3, "exact_count": 0, "hydration": 0}}})");
  tmp.write("completions.jsonl", "{\"id\": \"x\", \"reward\": 0.25}\n{\"id\": \"y\", \"reward\": 0.5}\n");
  ASSERT_TRUE(gt::eval::has_sample_scores(report));
  const SampleScores s = gt::eval::read_sample_scores(report);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s.at("x"), 0.5);
  EXPECT_DOUBLE_EQ(s.at("y"), 1.0);

  tmp.write("completions.jsonl", "{\"id\": \"x\", \"reward\": 0.25}\n{\"id\": \"x\", \"reward\": 0.5}\n");
  std::string m = thrown_message<gt::Error>([&] { gt::eval::read_sample_scores(report); });
  EXPECT_NE(m.find("completions.jsonl:2: id 'x' repeats"), std::string::npos) << m;

  tmp.write("completions.jsonl", "{\"id\": \"x\"}\n");
  m = thrown_message<gt::Error>([&] { gt::eval::read_sample_scores(report); });
  EXPECT_NE(m.find("completions.jsonl:1: field 'reward' must be a number"), std::string::npos) << m;

  const auto bare = tmp.write("bare.json", R"({"overall": {}})");
  m = thrown_message<gt::Error>([&] { gt::eval::read_sample_scores(bare); });
  EXPECT_NE(m.find("bare.json: field 'inputs.weights' is missing"), std::string::npos) << m;
}
