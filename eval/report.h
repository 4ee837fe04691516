#pragma once
// The eval table (§3): aggregation, report.json / report.md / completions.jsonl, and two runs side by side.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "eval/eval.h"

namespace gt::eval {

// One row of the table. The metrics are fractions of the samples (the table shows percentages).
struct Summary {
  std::size_t n = 0;
  double mean = 0;  // mean of reward / max_reward, the published "Mean"
  double json_valid = 0, plugin_id_match = 0, count_match = 0, no_hallucinate = 0, hydrated = 0, deps_chain = 0;
};

struct Report {
  Summary overall;
  std::vector<std::pair<std::string, Summary>> categories;  // in §3 order, those with samples
  nlohmann::json inputs = nlohmann::json::object();         // what was scored and how; shown, never compared
};

Report summarize(const std::vector<SampleResult>& results, const rl::RewardWeights& weights);

nlohmann::json to_json(const Report& r);
// Errors name the file and the field.
Report read_report(const std::filesystem::path& path);

// The published columns (Mean, JSON valid, Plugin-ID match, Count match, No-hallucinate, Hydrated, Deps chain), then
// Mean and sample count per category.
std::string markdown_table(const Report& r);
// Both runs side by side with the relative error reduction of the Mean, overall and per category.
std::string markdown_compare(const Report& a, const std::string& label_a, const Report& b, const std::string& label_b);
// (err_a - err_b) / err_a with err = 1 - Mean; nullopt when A has no error left to reduce.
std::optional<double> error_reduction(double mean_a, double mean_b);

// Writes report.md, report.json and completions.jsonl (each completion with its reward, terms and metrics) into
// `dir`, creating it; each file is written atomically.
void write_report(const std::filesystem::path& dir, const Report& r, const std::vector<SampleResult>& results);

}  // namespace gt::eval
