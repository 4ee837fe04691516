#pragma once
// The search's record: history.jsonl holds one JSON object per trial, in trial order, and best.json the best
// trial so far. Both are rewritten atomically after every trial, so a search killed at any moment leaves whole
// files; a trial that had not been recorded yet is simply run again.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace gt::research {

struct TrialRecord {
  int64_t trial = 0;
  std::string proposer;         // "initial" (trial 0: the space's initial values), "mutator" or "command"
  nlohmann::json params;        // the whole configuration; null when the proposal was refused
  std::string changed;          // the one parameter that differs from the best it was proposed from ("" for trial 0)
  nlohmann::json previous;      // that parameter's value in the best (null for trial 0)
  std::optional<double> score;  // the held-out eval Mean; absent when the trial failed
  std::optional<double> best_before;  // the score it had to beat; absent while nothing has been kept
  bool accepted = false;              // strictly better than best_before (or the first trial that scored)
  std::string failure;                // why it has no score: a crash, a non-finite score, a refused proposal
  double duration_s = 0;
  std::string weights;  // the trained model's folder relative to the search's out dir; "" once removed or never
  std::string ended;    // UTC, ISO 8601
  nlohmann::json details = nlohmann::json::object();  // the trainer's (steps, losses, the eval summary)
};

nlohmann::json to_json(const TrialRecord& r);
// Errors name `source` ("runs/research/history.jsonl:3") and the field.
TrialRecord record_from_json(const nlohmann::json& j, const std::string& source);

// An absent file is an empty history. Trials must be numbered 0, 1, 2, ... in order.
std::vector<TrialRecord> read_history(const std::filesystem::path& path);
void write_history(const std::filesystem::path& path, const std::vector<TrialRecord>& history);

// The kept trial with the highest score: the last accepted one, since each is kept only when strictly better.
const TrialRecord* best_trial(const std::vector<TrialRecord>& history);
// best.json: the best trial's number, score, params and weights, and how many trials the search has run.
void write_best(const std::filesystem::path& path, const std::vector<TrialRecord>& history);

}  // namespace gt::research
