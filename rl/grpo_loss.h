#pragma once
// The GRPO objective (docs/spec.md §6, TRL's GRPOTrainer semantics) as functions of per-token log-probabilities, so
// it can be checked by hand and by finite differences apart from any model.
//
// Advantages. Completions come in groups of G (one prompt each, in order). A_i = (r_i - mean of its group) /
// (std + 1e-4), std with Bessel's correction over the group ("group"), over the whole batch ("batch"), or no
// division ("none"). A group whose rewards are all equal (std <= 1e-8, TRL's isclose to 0) has A = 0 exactly, in
// every mode: its numerator is zero, and rounding must not turn that into a push.
//
// Token loss. rho = exp(logp - logp_old); l = -min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A) + beta KL,
// KL = exp(ref - logp) - (ref - logp) - 1 (k3). When a batch is used once, logp_old is the detached current value:
// rho = 1 and the gradient is -A. TRL's importance_sampling_level "sequence" (GSPO) puts one ratio on every token
// of completion i, s_i = exp(mean over its counted tokens of (logp - logp_old)), in place of rho; since
// d s_i / d logp_t = s_i / n_i and n_i tokens carry the same term, each token's gradient is w_i s_i dl/ds_i: on a
// batch used once (s = 1) both levels give the same loss and gradient.
//
// Aggregation. The loss of an optimizer step is sum_i w_i sum_t l_it over the counted tokens of completion i, with
// one weight per completion; the generation batch of N completions is split in order into N / B loss batches of B
// completions (TRL's per-device batch, whose count is the gradient accumulation):
//   grpo    w_i = 1 / (max(1, n_i) N)              (each completion's token mean, then the mean over completions)
//   bnpo    w_i = 1 / (max(1, n_b) N / B)          (token mean within each loss batch b, averaged over batches)
//   dr_grpo w_i = 1 / (N max_completion_length)
//   dapo    w_i = 1 / max(1, L)                    (token mean over the whole generation batch)
// n_i counts completion i's tokens in the loss, n_b those of its loss batch, L every completion token of the batch.
// Masking a truncated completion takes its tokens out of the loss (n_i = 0) and out of n_b, but, as in TRL, it
// still counts among the N completions of grpo and dr_grpo and its tokens stay in dapo's L (TRL counts
// num_items_in_batch before masking); its reward stays in its group's statistics. Because the loss is linear in
// these per-completion sums, any split into backward micro-batches gives the same loss and gradient.
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace gt::rl {

enum class LossType : uint8_t { Grpo, Bnpo, DrGrpo, Dapo };
enum class ImportanceLevel : uint8_t { Token, Sequence };
enum class ScaleRewards : uint8_t { Group, Batch, None };

const char* loss_type_name(LossType t);
const char* scale_rewards_name(ScaleRewards s);
const char* importance_level_name(ImportanceLevel l);

struct Advantages {
  std::vector<double> values;     // one per completion
  std::vector<uint8_t> zero_std;  // one per group: its rewards are all equal
  double zero_std_fraction = 0;
  double mean_group_std = 0;  // the mean over groups of the rewards' std (Bessel)
};

// rewards.size() must be a multiple of group_size >= 2 (one reward cannot be compared with anything).
Advantages compute_advantages(const std::vector<double>& rewards, int64_t group_size, ScaleRewards scale);

struct AggregationOptions {
  LossType type = LossType::Dapo;
  int64_t batch_size = 0;  // completions per loss batch; must divide the batch (0: the whole batch)
  int64_t max_completion_length = 512;
};

// The weights w_i above (0 for a completion with no counted tokens). counted[i]: completion i's tokens that take
// part in the loss (0 when masked); length[i]: all its tokens.
std::vector<double> completion_weights(const std::vector<int64_t>& counted, const std::vector<int64_t>& length,
                                       const AggregationOptions& a);

// The advantages and weights of one generation batch: rewards, completion lengths (stop token included) and
// whether each completion ran out of tokens without a stop token. With mask_truncated those completions count 0
// tokens; their rewards still enter the advantages' statistics.
struct BatchWeights {
  Advantages advantages;
  std::vector<int64_t> counted;  // tokens of each completion in the loss
  std::vector<double> weights;
};
BatchWeights plan_batch(const std::vector<double>& rewards, const std::vector<int64_t>& lengths,
                        const std::vector<uint8_t>& truncated, int64_t group_size, ScaleRewards scale,
                        const AggregationOptions& aggregation, bool mask_truncated);

struct ClipOptions {
  double eps_low = 0.2, eps_high = 0.2;
  double beta = 0;  // the KL coefficient; 0 needs no reference log-probs
  ImportanceLevel level = ImportanceLevel::Token;
};

// Per element of the logp tensor (numel n, any shape): its completion's advantage and weight (0: the element takes
// no part: prompt, padding, masked completions), and the stored log-probs.
struct TokenInputs {
  std::vector<double> advantage, weight;
  std::vector<float> old_logp;  // empty: the detached current value (ratio 1)
  std::vector<float> ref_logp;  // needed when beta > 0
  // ImportanceLevel::Sequence: which completion each element belongs to (-1: none); its ratio is taken over the
  // elements of that completion with a positive weight.
  std::vector<int32_t> sequence;
};

// Counts over the elements with a positive weight (TRL's clip_ratio/low_mean, high_mean, region_mean and kl).
struct TokenStats {
  int64_t tokens = 0;
  int64_t low_clipped = 0;   // rho < 1 - eps_low with A < 0: the clip holds the ratio up
  int64_t high_clipped = 0;  // rho > 1 + eps_high with A > 0: the clip holds the ratio down
  double kl_sum = 0;         // sum of k3 (when there are reference log-probs)
  double ratio_sum = 0;
  double loss = 0;  // sum_k weight_k l_k in double (the returned tensor is float32)

  void add(const TokenStats& o);
};

// sum_k weight_k l_k as a scalar, differentiable in logp (computed in double). `stats` receives the counts.
Tensor grpo_token_loss(const Tensor& logp, const TokenInputs& in, const ClipOptions& clip, TokenStats* stats = nullptr);

}  // namespace gt::rl
