#pragma once
// The GRPO run configuration (a JSON or YAML file; `configs/grpo.json` holds the published run's settings,
// docs/spec.md §6); TRL's GRPOConfig names are read too (train/config_names.h, docs/config.md).
// Reading is as strict as the SFT config's (train/config_reader.h): unknown keys, wrong types and values out of range
// are errors naming the file and the key. A missing key takes the default listed here.
//
//   model        as in SFT: {"dir": D} or {"config": F, "init_seed", "init_std"}, "storage"
//   tokenizer    tokenizer.json (default: model.dir/tokenizer.json; required with model.config)
//   data         {"train": F (required: the prompts, §1.1 samples whose targets are the gold plans the built-in
//                 reward needs, or TRL's {"prompt": ..., extra columns} lines, which need reward.command;
//                 docs/data.md), "heldout": F (optional: the held-out eval set, plan samples), "max_prompt_length":
//                 1024 (longer prompts are left out and counted), "chat_template_kwargs": {"enable_thinking": null,
//                 "preserve_thinking": false} (how TRL-format message prompts render)}
//   out_dir      (required) checkpoints/, metrics.jsonl, best/ and final/ (exported Hugging Face folders)
//   max_steps 0 (0: epochs over the prompts decide), epochs 1, seed 42
//   prompts_per_step 2     prompts of one generation batch (each gives num_generations completions)
//   batch_size 4           completions per backward pass and per bnpo loss batch (TRL's per-device batch); must
//                          divide prompts_per_step * num_generations; independent of the group size
//   num_iterations 1       optimizer steps taken on each generation batch (old log-probs are stored when > 1)
//   grad_clip 0            max global gradient norm (0: off)
//   generation   {"num_generations": 4, "temperature": 1.0, "top_p": 0.9, "top_k": 0,
//                 "max_completion_length": 512, "dynamic_sampling": false (DAPO: a group whose rewards are all
//                 equal is replaced by the next prompt's), "max_resamples": 4 (replacements per prompt slot at most;
//                 the prompts come from the data order, so an epoch ends sooner)}
//   loss         {"type": "dapo" | "grpo" | "bnpo" | "dr_grpo", "epsilon_low": 0.2, "epsilon_high": 0.2,
//                 "beta": 0.0 (KL coefficient; > 0 loads a frozen reference copy of the starting model, or with
//                 a `lora` section uses the model itself with the adapter off),
//                 "scale_rewards": "group" | "batch" | "none", "mask_truncated_completions": false,
//                 "importance_sampling_level": "token" | "sequence" (GSPO: one ratio per completion, rl/grpo_loss.h)}
//   reward       {"weights": {...} or "weights.json" (rl/reward.h; default: the published weights),
//                 "command": "" (an external reward command instead, rl/external_reward.h), "timeout_s": 30}
//   optimizer    as in SFT, with lr 1e-6 by default (Adafactor, scale_parameter and relative_step false)
//   schedule     as in SFT: {"name": "none" | "linear" | "cosine", "warmup_steps": 0, "warmup_ratio": 0}
//   lora         as in SFT: train only LoRA adapters (docs/lora.md); final/ and best/ then hold the adapter
//   eval         {"every": 0 (steps; 0: only at the start and the end), "max_samples": 0 (0: all),
//                 "max_new_tokens": 512, "temperature": 0 (greedy, so evals are comparable), "top_p": 1, "top_k": 0,
//                 "seed": 0}; scored with the published reward weights
//   checkpoint   {"every": 0 (steps; 0: only at the end), "keep_last": 3 (0: keep all)}
//   checkpoint_layers false, log_file "metrics.jsonl", progress_every_s 1, log_completions 2 (sample completions
//   with their rewards logged per step)
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/trl_format.h"
#include "model/sampler.h"
#include "rl/grpo_loss.h"
#include "rl/reward.h"
#include "train/trainer_config.h"

namespace gt::rl {

struct GrpoConfig : train::TrainerConfig {
  GrpoConfig() { batch_size = 4; }

  int64_t max_prompt_length = 1024;
  data::ChatTemplateKwargs chat_template_kwargs;
  int64_t prompts_per_step = 2;
  int64_t num_iterations = 1;

  int64_t num_generations = 4;
  double temperature = 1.0;
  double top_p = 0.9;
  int64_t top_k = 0;
  int64_t max_completion_length = 512;
  // DAPO's dynamic sampling: a group whose rewards are all equal (no advantage, so no gradient) is replaced by the
  // group of the next prompt, at most max_resamples times per prompt slot; the last one drawn is kept.
  bool dynamic_sampling = false;
  int64_t max_resamples = 4;

  LossType loss_type = LossType::Dapo;
  double epsilon_low = 0.2, epsilon_high = 0.2;
  double beta = 0;
  ScaleRewards scale_rewards = ScaleRewards::Group;
  bool mask_truncated_completions = false;
  ImportanceLevel importance_level = ImportanceLevel::Token;

  RewardWeights reward_weights;
  std::string reward_command;
  double reward_timeout_s = 30;

  int64_t eval_max_new_tokens = 512;
  SamplingOptions eval_sampling{.temperature = 0};
  int64_t log_completions = 2;

  int64_t generation_batch() const { return prompts_per_step * num_generations; }
};

GrpoConfig parse_grpo_config(const nlohmann::json& j, const std::string& path);
GrpoConfig load_grpo_config(const std::string& path);

// The settings that decide the run's steps (see train::training_identity): paths, eval, checkpointing, logging and
// memory trades are left out; the reward weights and command are in.
nlohmann::json training_identity(const GrpoConfig& c);
// The config with every default filled in (written to the out dir; parse_grpo_config reads it back).
nlohmann::json to_json(const GrpoConfig& c);

}  // namespace gt::rl
