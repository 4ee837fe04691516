#pragma once
// GRPO (docs/spec.md §6, TRL's semantics): the loop that turns prompts into sampled groups of completions, rewards,
// advantages and policy-gradient steps, with held-out evals that keep the best model, checkpoints and an exact
// resume.
//
// One generation batch: the next prompts_per_step prompts of the epoch's order (a seeded Fisher-Yates permutation,
// as in SFT; an epoch boundary is crossed without a short batch), each prefilled once and its cache forked for
// num_generations samples (model/generate.h) at the configured temperature / top_p / top_k, stopping at the chat
// stop ids or max_completion_length. Each generate call draws its seed from the run's rollout stream, so the
// sampled tokens follow from the seed and the step. Rewards (§2 or the external command), then advantages and
// weights (grpo_loss.h). When num_iterations > 1 the batch's log-probs under the policy that sampled it are stored
// (the old log-probs of the ratio); when beta > 0 those of the frozen reference model (a second copy of the
// starting model, loaded only then).
//
// One optimizer step: forward and backward over the batch in micro-batches of batch_size completions
// (rl/policy.h), the gradient-norm checks of SFT (a non-finite norm stops the run naming the parameters; a zero
// norm stops it unless no token carried an advantage, which is every zero-std group's normal state), optional
// clipping, the schedule's lr, the optimizer (Adafactor, lr 1e-6 by default). Each batch serves num_iterations steps.
//
// Held-out eval: at step 0, every eval.every steps and at the end, the §3 Mean (and the six metrics) of greedy
// completions on the held-out prompts, scored with the published reward weights whatever the training reward is. A
// Mean strictly above the best so far exports the model to out_dir/best/ (the step 0 model counts, so best/ is never
// worse than the start by this eval). The training reward never chooses.
//
// Exact resume: a checkpoint holds the weights, the optimizer's state, the data order and position, both random
// streams' states, the best Mean so far, and the generation batch in use when it falls between a batch's
// iterations (its completions, rewards and stored log-probs). A resumed run refuses other settings or data, then
// logs the same records and ends with the same weights bit for bit as an unbroken run.
//
// Out dir: run_config.json, metrics.jsonl, checkpoints/, best/ and final/ (Hugging Face folders). metrics.jsonl
// records, under TRL's GRPOTrainer names where it logs the same (docs/metrics.md): {"type": "data"} (the prompt sets),
// "train" (per step: loss, learning_rate, grad_norm, reward, rewards/<term>/mean, reward_std (within groups),
// reward_batch_std, advantage spread, frac_reward_zero_std, kl, clip_ratio/low_mean|high_mean|region_mean,
// ratio_mean, completions/mean_length|min_length|max_length|clipped_ratio, rollout and update tokens/s), "samples" (a
// few completions of each new batch with their rewards), "eval" (eval_mean and the eval_ metrics), "best",
// "checkpoint", "resume". TensorBoard event files and plots/ beside it (train/run_log.h).
#include <cstdint>
#include <optional>
#include <string>

#include "rl/grpo_config.h"
#include "train/training_run.h"

namespace gt::rl {

// resume, stop_after, stop_flag, time_limit_s (the held-out eval is taken where it stops), progress and device.
using GrpoRunOptions = train::RunOptions;

struct GrpoResult : train::RunResult {
  double last_reward = 0;              // the mean reward of the last step's batch
  std::optional<double> heldout_mean;  // the latest held-out Mean
  std::optional<double> best_mean;     // the best held-out Mean so far, reached at best_step
  int64_t best_step = -1;
  std::string best_dir;  // out_dir/best when a held-out set is configured
};

GrpoResult run_grpo(const GrpoConfig& config, const GrpoRunOptions& options = {});

}  // namespace gt::rl
