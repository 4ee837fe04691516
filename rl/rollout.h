#pragma once
// What GRPO generates from and scores with: prompt sets (plan samples rendered and tokenized as generation sees
// them, docs/spec.md §1.2), the reward of a completion (§2, or an external command), and the held-out eval Mean
// (§3) computed on the inference path.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/plan_sample.h"
#include "data/tokenizer.h"
#include "data/trl_format.h"
#include "model/gemma4.h"
#include "model/sampler.h"
#include "rl/external_reward.h"
#include "rl/reward.h"

namespace gt::rl {

// One prompt as the reward and the logs see it.
struct PromptRecord {
  std::string id;      // a plan sample's id; a TRL line's "id" column when it is a string, else `source`
  std::string source;  // file:line
  // What a reward command receives as "sample": a plan sample's §1.1 JSON, or a TRL line's columns as read (the
  // prompt and every extra column; TRL hands those to reward functions as keyword arguments).
  nlohmann::json sample;
};

struct PromptSet {
  std::vector<PromptRecord> samples;
  std::vector<std::vector<int64_t>> ids;       // the prompt: system, turns, generation prompt (thinking on), one <bos>
  std::vector<std::optional<Reference>> refs;  // gold plans (when the set was loaded with need_gold)
  int64_t read = 0, dropped_too_long = 0, tokens = 0, longest = 0;
  uint64_t fingerprint = 0;  // of every kept sample's JSON and prompt ids, in order

  size_t size() const { return samples.size(); }
  nlohmann::json report(const std::string& file) const;
};

// Reads a JSON Lines file of plan samples (§1.1) or TRL prompts ({"prompt": a string or messages, extra columns},
// data/trl_format.h), told apart line by line; TRL message prompts render with `kwargs`. Prompts longer than
// max_prompt_length tokens are left out and counted. need_gold: every prompt must be a plan sample with a usable gold
// plan (the built-in reward and eval need one; the error names the file and line). Fails when no prompt is left.
PromptSet load_prompts(const std::string& path, const data::Tokenizer& tokenizer, int64_t max_prompt_length,
                       bool need_gold, const data::ChatTemplateKwargs& kwargs = {});

// The stop ids of generation: model_dir's generation_config.json when it has one (as `eval --model` and
// `generate` use), else data::chat_stop_ids of the tokenizer.
std::vector<int64_t> stop_ids_for(const std::string& model_dir, const data::Tokenizer& tokenizer);

// A completion's text as the reward parses it: decoded with its special tokens kept.
std::string completion_text(const data::Tokenizer& tokenizer, const std::vector<int64_t>& tokens);

struct Scored {
  double reward = 0;
  std::optional<RewardTerms> terms;  // the built-in reward's weighted terms (none from a command)
  std::optional<PlanMetrics> metrics;
};

// The built-in reward with `weights`, or the external command when one is given.
class RewardFunction {
 public:
  RewardFunction(RewardWeights weights, std::string command, double timeout_s);
  bool external() const { return !external_.command.empty(); }
  Scored operator()(const PromptRecord& prompt, const std::optional<Reference>& ref,
                    const std::string& completion) const;

 private:
  RewardWeights weights_;
  ExternalReward external_;
};

// The held-out eval of §3 on the inference path: one completion per sample (greedy unless `sampling` says
// otherwise), scored with the built-in reward.
struct HeldoutOptions {
  int64_t max_samples = 0;  // 0: all
  int64_t max_new_tokens = 512;
  SamplingOptions sampling{.temperature = 0};
  std::vector<int64_t> stop_ids;
  RewardWeights weights;
};

struct HeldoutResult {
  int64_t samples = 0, tokens = 0;
  double mean = 0;  // mean of reward / max_reward: the published Mean
  double json_valid = 0, plugin_id_match = 0, count_match = 0, no_hallucinate = 0, hydrated = 0, deps_chain = 0;
  nlohmann::json to_json() const;
};

HeldoutResult evaluate_heldout(const Gemma4& model, const data::Tokenizer& tokenizer, const PromptSet& set,
                               const HeldoutOptions& options);

}  // namespace gt::rl
