#pragma once
// `gemma-tune research --config configs/research.json`: one file describes the whole search. Reading is strict
// (train/config_reader.h): an unknown key or a wrong type is an error naming the file and the key.
//
//   out_dir      (required) where the trials, history.jsonl, best.json and report.md go
//   iterations   8: trials in all, trial 0 (the initial configuration) included
//   seed         0: the mutator's
//   trainer      "sft" or "grpo"; its settings are the object of that name:
//   sft | grpo   an SFT config (train/sft_config.h) or a GRPO config (rl/grpo_config.h) without out_dir; its
//                "model" is the start every trial trains from
//   budget       {"max_steps": 0, "minutes": 0}: at least one above 0; a trial ends at whichever comes first
//   eval         {"data": F (required), "max_samples": 0 (0: all), "max_new_tokens": 512, "weights": F}: the fixed
//                held-out eval whose Mean is the score (greedy)
//   synth        optional {"train": N (required), "seed": 0, "num_plugins": 6, "candidate_params": "none"}: every
//                trial trains on a set synthesized with these (and its data.* parameters) instead of a fixed file
//   proposer     {"command": "" (empty: the built-in mutator), "timeout_s": 300}
//   space        the parameters (research/space.h)
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "research/heldout.h"
#include "research/space.h"
#include "research/trainer.h"
#include "research/trial_data.h"

namespace gt::research {

struct ResearchConfig {
  std::string path;
  std::string out_dir;
  int64_t iterations = 8;
  uint64_t seed = 0;
  std::string trainer = "sft";    // "sft" | "grpo"
  nlohmann::json trainer_config;  // the object named by `trainer`
  Budget budget;
  EvalSettings eval;
  std::optional<SynthSettings> synth;
  std::string proposer_command;
  double proposer_timeout_s = 300;
  SearchSpace space;

  // What the scores depend on (trainer and its settings, budget, eval, synth, space): a resumed search must
  // bring the same. The iteration count, seed and proposer may change between runs.
  nlohmann::json identity() const;
};

ResearchConfig parse_research_config(const nlohmann::json& j, const std::string& path);
ResearchConfig load_research_config(const std::string& path);

}  // namespace gt::research
