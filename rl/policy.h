#pragma once
// The policy side of a GRPO step on the training path: token log-probabilities of completions given their prompts
// (logits divided by the sampling temperature, docs/spec.md §6), and the gradient of the GRPO loss accumulated over
// backward micro-batches whose size is independent of the group size (docs/pitfalls.md item 8).
//
// A micro-batch of m sequences (prompt + completion) is one forward of [m, T], right-padded to its longest
// sequence: attention is causal, so padding after a sequence changes nothing before it. Position P + t - 1 scores
// completion token t (P the prompt length); only those positions go through the head (Gemma4::head_logprobs).
#include <cstdint>
#include <vector>

#include "model/gemma4.h"
#include "rl/grpo_loss.h"

namespace gt::rl {

struct Sequence {
  const std::vector<int64_t>* prompt = nullptr;      // starts with the one <bos>
  const std::vector<int64_t>* completion = nullptr;  // non-empty
};

struct PolicyOptions {
  double temperature = 1.0;
  int64_t batch_size = 4;  // sequences per forward (and backward)
  ForwardOptions forward;  // checkpoint_layers
};

// Log-probabilities of every completion token, one vector per sequence, without recording gradients.
std::vector<std::vector<float>> sequence_logprobs(const Gemma4& model, const std::vector<Sequence>& seqs,
                                                  const PolicyOptions& options);

// Per sequence: its advantage and weight (plan_batch), and the stored log-probs (empty vectors: none).
struct PolicyTargets {
  std::vector<double> advantage, weight;
  std::vector<std::vector<float>> old_logp, ref_logp;
};

struct PolicyStats {
  TokenStats tokens;
  int64_t tokens_processed = 0;  // prompt + completion tokens through the forward and backward
  bool finite = true;            // false: a micro-batch's loss was not finite (gradients left as they were)
  int64_t first_bad_sequence = -1;
};

// Runs forward and backward over `seqs` in micro-batches of options.batch_size, adding the gradient of the GRPO loss
// (grpo_loss.h) to the model's parameters. Sequences with weight 0 still run (their tokens contribute nothing), so
// the micro-batches and their arithmetic do not depend on which completions were masked.
PolicyStats accumulate_policy_gradient(const Gemma4& model, const std::vector<Sequence>& seqs,
                                       const PolicyTargets& targets, const ClipOptions& clip,
                                       const PolicyOptions& options);

}  // namespace gt::rl
