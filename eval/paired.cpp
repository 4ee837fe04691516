#include "eval/paired.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "base/json_file.h"
#include "eval/report.h"
#include "rl/reward.h"

namespace gt::eval {

namespace {

using nlohmann::json;

// Rewards are sums of a few weighted terms; two that differ by less than this are the same score.
constexpr double kSame = 1e-9;

std::filesystem::path completions_beside(const std::filesystem::path& report_json) {
  return report_json.parent_path() / "completions.jsonl";
}

std::string signed_fixed(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.3f", x + 0.0);
  return buf;
}

}  // namespace

bool has_sample_scores(const std::filesystem::path& report_json) {
  return std::filesystem::is_regular_file(completions_beside(report_json));
}

SampleScores read_sample_scores(const std::filesystem::path& report_json) {
  const json report = read_json_file(report_json);
  const json* weights = report.is_object() && report.contains("inputs") && report["inputs"].is_object() &&
                                report["inputs"].contains("weights")
                            ? &report["inputs"]["weights"]
                            : nullptr;
  if (!weights)
    throw Error(report_json.string() + ": field 'inputs.weights' is missing (needed to turn rewards into scores)");
  const double max_reward = rl::RewardWeights::from_json(*weights, report_json.string() + ": 'inputs.weights'")
                                .max_reward();

  const std::filesystem::path path = completions_beside(report_json);
  SampleScores scores;
  for_each_jsonl(path, [&](const json& v, std::size_t line) {
    const std::string at = path.string() + ":" + std::to_string(line) + ": ";
    if (!v.is_object()) throw Error(at + "a line must be a JSON object");
    if (!v.contains("id") || !v["id"].is_string()) throw Error(at + "field 'id' must be a string");
    if (!v.contains("reward") || !v["reward"].is_number()) throw Error(at + "field 'reward' must be a number");
    if (!scores.emplace(v["id"].get<std::string>(), v["reward"].get<double>() / max_reward).second)
      throw Error(at + "id '" + v["id"].get<std::string>() + "' repeats");
  });
  if (scores.empty()) throw Error(path.string() + ": no samples (the file is empty)");
  return scores;
}

PairedComparison compare_paired(const SampleScores& a, const std::string& label_a, const SampleScores& b,
                                const std::string& label_b, int resamples, uint64_t seed) {
  auto missing = [](const SampleScores& from, const SampleScores& in, const std::string& label) {
    for (const auto& [id, score] : from)
      if (!in.count(id)) throw Error(label + ": has no sample '" + id + "' (the two evals must score the same ids)");
  };
  missing(a, b, label_b);
  missing(b, a, label_a);
  if (a.empty()) throw Error(label_a + ": no samples to compare");
  if (resamples < 1) throw Error("compare: resamples must be >= 1");

  PairedComparison p;
  p.n = a.size();
  p.resamples = resamples;
  std::vector<double> d;
  d.reserve(p.n);
  for (const auto& [id, score_a] : a) {
    const double x = b.at(id) - score_a;
    d.push_back(x);
    p.mean_difference += x;
    if (x > kSame) ++p.better;
    else if (x < -kSame) ++p.worse;
    else ++p.same;
  }
  p.mean_difference /= static_cast<double>(p.n);

  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, p.n - 1);
  std::vector<double> means(static_cast<std::size_t>(resamples));
  std::size_t not_above = 0;
  for (double& m : means) {
    double s = 0;
    for (std::size_t i = 0; i < p.n; ++i) s += d[pick(rng)];
    m = s / static_cast<double>(p.n);
    if (m <= kSame) ++not_above;
  }
  std::sort(means.begin(), means.end());
  const auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(std::floor(q * static_cast<double>(resamples - 1) + 0.5));
    return means[i];
  };
  p.low = at(0.025);
  p.high = at(0.975);
  p.share_not_above_zero = static_cast<double>(not_above) / static_cast<double>(resamples);
  return p;
}

std::string markdown_paired(const PairedComparison& p) {
  char share[32];
  std::snprintf(share, sizeof share, "%.1f%%", 100 * p.share_not_above_zero);
  return "Per sample (" + std::to_string(p.n) + " paired): B better on " + std::to_string(p.better) + ", worse on " +
         std::to_string(p.worse) + ", the same on " + std::to_string(p.same) + ". Mean difference B - A " +
         signed_fixed(p.mean_difference) + ", 95% paired bootstrap interval " + signed_fixed(p.low) + " to " +
         signed_fixed(p.high) + " (" + std::to_string(p.resamples) + " resamples; " + share +
         " of them <= 0).\n";
}

std::string markdown_compare_reports(const std::filesystem::path& a, const std::string& label_a,
                                     const std::filesystem::path& b, const std::string& label_b) {
  std::string out = markdown_compare(read_report(a), label_a, read_report(b), label_b);
  if (has_sample_scores(a) && has_sample_scores(b))
    out += "\n" + markdown_paired(compare_paired(read_sample_scores(a), label_a, read_sample_scores(b), label_b));
  return out;
}

}  // namespace gt::eval
