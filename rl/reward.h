#pragma once
// The plugin-selection reward (§2) and the per-sample eval metrics (§3), computed from one parse of the completion
// so GRPO and eval can never disagree about what a completion contains.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "data/plan.h"
#include "data/plan_sample.h"

namespace gt::rl {

// Weights of the published GRPO run. A JSON file may set any subset of these keys (the same names); an unknown key
// is an error, so a typo cannot silently leave a weight at its default.
struct RewardWeights {
  double valid_json = 0.10;
  double in_candidates = 0.15;
  double recall = 0.25;
  double no_wrong_picks = 0.20;
  double wrong_pick = -0.10;  // added once per wrong pick, for at most max_wrong_picks of them
  int max_wrong_picks = 3;
  double exact_count = 0.10;
  double hydration = 0.15;

  // The best reward a completion can get: the positive term weights summed and clamped to 1 (0.95 with the
  // published weights). Eval's per-sample score is reward / max_reward().
  double max_reward() const;
  nlohmann::json to_json() const;
  static RewardWeights from_json(const nlohmann::json& j, const std::string& source);
  static RewardWeights load(const std::filesystem::path& path);
};

// Each term's weighted contribution; the reward is their sum clamped to [0, 1].
struct RewardTerms {
  double valid_json = 0, in_candidates = 0, recall = 0, no_wrong_picks = 0, wrong_picks = 0, exact_count = 0,
         hydration = 0;
  double sum() const;
  nlohmann::json to_json() const;
};

// §3, each 0 or 1 and 0 when the plan is not valid.
struct PlanMetrics {
  bool json_valid = false, plugin_id_match = false, count_match = false, no_hallucinate = false, hydrated = false,
       deps_chain = false;
  nlohmann::json to_json() const;
};

struct Score {
  double reward = 0;
  RewardTerms terms;
  PlanMetrics metrics;
  // {"reward": r, "terms": {...}, "metrics": {...}}, numbers rounded to 6 decimals for reading.
  nlohmann::json to_json() const;
};

// What completions of one sample are scored against, read once per sample (GRPO scores a group of completions).
struct Reference {
  std::vector<data::PlanStep> gold;  // checked by data::gold_plan: non-empty, unique pluginIds
  std::set<std::string> candidates;
  static Reference of(const data::PlanSample& sample);  // throws gt::Error without a usable gold plan
};

Score score_completion(std::string_view completion, const Reference& ref, const RewardWeights& weights = {});

}  // namespace gt::rl
