#pragma once
// The fixed held-out eval that scores every trial (never the training reward): `eval --model`'s path (greedy
// generation, the §2 reward, the §3 table) on the first max_samples samples of one file, with a limit on new
// tokens. Its score is the table's Mean.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "data/plan_sample.h"
#include "eval/report.h"
#include "rl/reward.h"

namespace gt::research {

struct EvalSettings {
  std::string data;         // held-out samples with gold plans
  int64_t max_samples = 0;  // the first ones of the file (0: all)
  int64_t max_new_tokens = 512;
  std::string weights;  // reward weights (JSON); empty: the published ones
};

class HeldoutScorer {
 public:
  // Reads the data (all of it, for requests()) and the weights; errors name the file.
  explicit HeldoutScorer(const EvalSettings& s);

  // Loads the model in `model_dir` (a Hugging Face folder with tokenizer.json), generates and scores, and writes
  // report.md, report.json and completions.jsonl into `out_dir`. Throws gt::Error("interrupted") between samples
  // once *stop is true.
  eval::Report score(const std::filesystem::path& model_dir, const std::filesystem::path& out_dir,
                     std::ostream* progress, const std::atomic<bool>* stop) const;

  // The requests (last user turns) of every sample in the file, scored or not: training data must avoid them.
  const std::set<std::string>& requests() const { return requests_; }
  std::size_t size() const { return samples_.size(); }

 private:
  EvalSettings s_;
  std::vector<data::PlanSample> samples_;
  std::set<std::string> requests_;
  rl::RewardWeights weights_;
};

}  // namespace gt::research
