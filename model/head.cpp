// The tied head with its final softcap, and the causal-LM losses on it: materialised (head, causal_lm_loss) or
// fused over chunks of rows (head_loss, head_logprobs, through the ops linear_cross_entropy and
// linear_token_logprobs).
#include "autograd/ops.h"
#include "base/error.h"
#include "model/gemma4.h"

namespace gt {

Tensor Gemma4::head(const Tensor& hidden) const {
  Tensor logits = linear(hidden, embed_tokens);
  if (config_.final_logit_softcapping > 0) logits = softcap(logits, config_.final_logit_softcapping);
  return logits;
}

Tensor Gemma4::head_loss(const Tensor& hidden, const Tensor& targets, int64_t chunk) const {
  return linear_cross_entropy(hidden, embed_tokens, targets, config_.final_logit_softcapping, chunk);
}

Tensor Gemma4::head_logprobs(const Tensor& hidden, const Tensor& targets, double temperature, int64_t chunk) const {
  return linear_token_logprobs(hidden, embed_tokens, targets, config_.final_logit_softcapping, temperature, chunk);
}

Tensor next_token_targets(const Tensor& labels) {
  GT_CHECK(labels.defined() && labels.dim() == 2 && !is_floating(labels.dtype()),
           "next_token_targets: labels must be integer [B, T], got ", labels.defined() ? labels.str() : "undefined");
  const int64_t B = labels.size(0), T = labels.size(1);
  // transformers pads the labels with one ignore_index and shifts them left: no slice of the logits is copied.
  const std::vector<int64_t> lab = labels.to_ids();
  std::vector<int64_t> targets(static_cast<size_t>(B * T), -100);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t + 1 < T; ++t) targets[static_cast<size_t>(b * T + t)] = lab[static_cast<size_t>(b * T + t + 1)];
  return Tensor::from_ids(targets, {B, T});
}

Tensor causal_lm_loss(const Tensor& logits, const Tensor& labels) {
  GT_CHECK(logits.defined() && labels.defined() && logits.dim() == 3 && labels.dim() == 2 &&
               logits.size(0) == labels.size(0) && logits.size(1) == labels.size(1) && !is_floating(labels.dtype()),
           "causal_lm_loss: logits ", logits.str(), " and labels ", labels.str(), " do not fit ([B, T, V], [B, T])");
  const int64_t B = labels.size(0), T = labels.size(1), V = logits.size(2);
  return cross_entropy(logits.reshape({B * T, V}), next_token_targets(labels).reshape({B * T}), -100, Reduction::Mean);
}

}  // namespace gt
