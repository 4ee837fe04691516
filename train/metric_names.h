#pragma once
// The keys of metrics.jsonl are the ones Hugging Face Trainer and TRL log (docs/metrics.md has the table). Runs
// written before the rename used names of our own; with_current_names reads such a record under the current names,
// so whatever reads a metrics file (the plots, a resumed run of an old out dir) reads both.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gt::train {

struct MetricRename {
  const char* type;  // the record type ("train", "eval", "best")
  const char* old_name;
  const char* name;
};
// Every renamed key. GRPO's reward terms, once the object reward_terms, are now rewards/<term>/mean each.
const std::vector<MetricRename>& renamed_metrics();

// `record` with its old keys renamed (all at once: an old reward_std is the batch's spread, a current reward_std is
// TRL's mean spread within groups, the old group_reward_std); a current record comes back as it is.
nlohmann::json with_current_names(const nlohmann::json& record);

// TRL's key of a reward term's mean over the batch.
std::string reward_term_key(const std::string& term);

}  // namespace gt::train
