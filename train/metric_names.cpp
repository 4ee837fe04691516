#include "train/metric_names.h"

namespace gt::train {

using nlohmann::json;

const std::vector<MetricRename>& renamed_metrics() {
  static const std::vector<MetricRename> table = {
      {"train", "lr", "learning_rate"},
      {"train", "reward_std", "reward_batch_std"},
      {"train", "group_reward_std", "reward_std"},
      {"train", "zero_std_fraction", "frac_reward_zero_std"},
      {"train", "clip_low", "clip_ratio/low_mean"},
      {"train", "clip_high", "clip_ratio/high_mean"},
      {"train", "clip_region", "clip_ratio/region_mean"},
      {"train", "completion_length", "completions/mean_length"},
      {"train", "completion_length_min", "completions/min_length"},
      {"train", "completion_length_max", "completions/max_length"},
      {"train", "truncated_ratio", "completions/clipped_ratio"},
      {"eval", "heldout_loss", "eval_loss"},
      {"eval", "heldout_tokens", "eval_tokens"},
      {"eval", "samples", "eval_samples"},
      {"eval", "mean", "eval_mean"},
      {"eval", "json_valid", "eval_json_valid"},
      {"eval", "plugin_id_match", "eval_plugin_id_match"},
      {"eval", "count_match", "eval_count_match"},
      {"eval", "no_hallucinate", "eval_no_hallucinate"},
      {"eval", "hydrated", "eval_hydrated"},
      {"eval", "deps_chain", "eval_deps_chain"},
      {"eval", "tokens", "eval_tokens"},
      {"eval", "tokens_per_s", "eval_tokens_per_s"},
      {"best", "mean", "eval_mean"},
  };
  return table;
}

std::string reward_term_key(const std::string& term) { return "rewards/" + term + "/mean"; }

namespace {

// Every old record carries one of these, no current one does.
bool is_old(const json& r, const std::string& type) {
  if (type == "train") return r.contains("lr");
  if (type == "eval") return r.contains("heldout_loss") || r.contains("mean");
  if (type == "best") return r.contains("mean");
  return false;
}

}  // namespace

json with_current_names(const json& record) {
  if (!record.is_object()) return record;
  const std::string type = record.value("type", "");
  if (!is_old(record, type)) return record;
  json out = json::object();
  for (const auto& [key, value] : record.items()) {
    std::string name = key;
    for (const MetricRename& m : renamed_metrics())
      if (type == m.type && key == m.old_name) name = m.name;
    if (key == "reward_terms" && value.is_object()) {
      for (const auto& [term, v] : value.items()) out[reward_term_key(term)] = v;
      continue;
    }
    out[name] = value;
  }
  return out;
}

}  // namespace gt::train
