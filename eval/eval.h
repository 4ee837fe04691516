#pragma once
// Scoring a held-out set (§3): each sample's completion gets the §2 reward, its terms and the §3 metrics.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/plan_sample.h"
#include "rl/reward.h"

namespace gt::eval {

// Produces the completion for one sample. `eval --completions` looks it up in a file; generating with a model is
// another source, so scoring and reporting stay as they are when it arrives.
using CompletionSource = std::function<std::string(const data::PlanSample&)>;

struct SampleResult {
  std::string id, category, completion;
  rl::Score score;
};

// Checks every sample's gold plan before asking for any completion, so a bad data file fails before generation
// time is spent; then scores the samples in order.
std::vector<SampleResult> score_samples(const std::vector<data::PlanSample>& samples, const CompletionSource& source,
                                        const rl::RewardWeights& weights);

// Reads a completions file, one {"id": ..., "completion": ...} a line, and checks it against the samples: ids unique
// in both files, every line's id among the samples, every sample with a completion. Errors (gt::Error) name the
// file and line.
std::map<std::string, std::string> read_completions(const std::filesystem::path& path,
                                                    const std::vector<data::PlanSample>& samples);

}  // namespace gt::eval
