#include "rl/policy.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace gt::rl {

namespace {

// One micro-batch laid out as a padded [m, T] forward: the ids, the targets (-100 where nothing is scored), and
// for each sequence the flat index of its first completion position.
struct Layout {
  int64_t m = 0, T = 0;
  std::vector<int64_t> ids, targets, first;
};

Layout lay_out(const std::vector<Sequence>& seqs, size_t from, size_t to) {
  Layout l;
  l.m = static_cast<int64_t>(to - from);
  for (size_t s = from; s < to; ++s) {
    GT_CHECK(seqs[s].prompt && !seqs[s].prompt->empty() && seqs[s].completion && !seqs[s].completion->empty(),
             "grpo: sequence ", s, " needs a prompt and a non-empty completion");
    l.T = std::max<int64_t>(l.T, static_cast<int64_t>(seqs[s].prompt->size() + seqs[s].completion->size()));
  }
  l.ids.assign(static_cast<size_t>(l.m * l.T), 0);
  l.targets.assign(l.ids.size(), -100);
  for (size_t s = from; s < to; ++s) {
    const auto& p = *seqs[s].prompt;
    const auto& c = *seqs[s].completion;
    const int64_t row = static_cast<int64_t>(s - from) * l.T, P = static_cast<int64_t>(p.size());
    std::copy(p.begin(), p.end(), l.ids.begin() + row);
    std::copy(c.begin(), c.end(), l.ids.begin() + row + P);
    for (size_t t = 0; t < c.size(); ++t) l.targets[static_cast<size_t>(row + P - 1) + t] = c[t];
    l.first.push_back(row + P - 1);
  }
  return l;
}

Tensor layout_logprobs(const Gemma4& model, const Layout& l, const PolicyOptions& o) {
  const Tensor hidden = model.hidden_states(Tensor::from_ids(l.ids, {l.m, l.T}), o.forward);
  return model.head_logprobs(hidden, Tensor::from_ids(l.targets, {l.m, l.T}), o.temperature);
}

}  // namespace

std::vector<std::vector<float>> sequence_logprobs(const Gemma4& model, const std::vector<Sequence>& seqs,
                                                  const PolicyOptions& options) {
  GT_CHECK(options.batch_size >= 1, "grpo: batch_size must be >= 1");
  NoGradGuard no_grad;
  std::vector<std::vector<float>> out;
  for (size_t from = 0; from < seqs.size(); from += static_cast<size_t>(options.batch_size)) {
    const size_t to = std::min(seqs.size(), from + static_cast<size_t>(options.batch_size));
    const Layout l = lay_out(seqs, from, to);
    const std::vector<float> lp = layout_logprobs(model, l, options).to_floats();
    for (size_t s = from; s < to; ++s) {
      const auto first = static_cast<size_t>(l.first[s - from]);
      out.emplace_back(lp.begin() + static_cast<std::ptrdiff_t>(first),
                       lp.begin() + static_cast<std::ptrdiff_t>(first + seqs[s].completion->size()));
    }
  }
  return out;
}

PolicyStats accumulate_policy_gradient(const Gemma4& model, const std::vector<Sequence>& seqs,
                                       const PolicyTargets& targets, const ClipOptions& clip,
                                       const PolicyOptions& options) {
  const size_t n = seqs.size();
  GT_CHECK(options.batch_size >= 1, "grpo: batch_size must be >= 1");
  GT_CHECK(targets.advantage.size() == n && targets.weight.size() == n &&
               (targets.old_logp.empty() || targets.old_logp.size() == n) &&
               (targets.ref_logp.empty() || targets.ref_logp.size() == n),
           "grpo: ", n, " sequences need one advantage, weight (and stored log-probs) each");
  PolicyStats stats;
  for (size_t from = 0; from < n; from += static_cast<size_t>(options.batch_size)) {
    const size_t to = std::min(n, from + static_cast<size_t>(options.batch_size));
    const Layout l = lay_out(seqs, from, to);
    const auto cells = static_cast<size_t>(l.m * l.T);
    TokenInputs in;
    in.advantage.assign(cells, 0.0);
    in.weight.assign(cells, 0.0);
    if (!targets.old_logp.empty()) in.old_logp.assign(cells, 0.f);
    if (!targets.ref_logp.empty()) in.ref_logp.assign(cells, 0.f);
    if (clip.level == ImportanceLevel::Sequence) in.sequence.assign(cells, -1);
    for (size_t s = from; s < to; ++s) {
      const size_t L = seqs[s].completion->size(), first = static_cast<size_t>(l.first[s - from]);
      GT_CHECK(targets.old_logp.empty() || targets.old_logp[s].size() == L, "grpo: sequence ", s,
               " has a stored old log-prob per token mismatch");
      GT_CHECK(targets.ref_logp.empty() || targets.ref_logp[s].size() == L, "grpo: sequence ", s,
               " has a stored reference log-prob per token mismatch");
      for (size_t t = 0; t < L; ++t) {
        if (clip.level == ImportanceLevel::Sequence) in.sequence[first + t] = static_cast<int32_t>(s - from);
        in.advantage[first + t] = targets.advantage[s];
        in.weight[first + t] = targets.weight[s];
        if (!targets.old_logp.empty()) in.old_logp[first + t] = targets.old_logp[s][t];
        if (!targets.ref_logp.empty()) in.ref_logp[first + t] = targets.ref_logp[s][t];
      }
      stats.tokens_processed += static_cast<int64_t>(seqs[s].prompt->size() + L);
    }
    const Tensor logp = layout_logprobs(model, l, options);
    TokenStats ts;
    const Tensor loss = grpo_token_loss(logp, in, clip, &ts);
    if (!std::isfinite(ts.loss)) {
      stats.finite = false;
      stats.first_bad_sequence = static_cast<int64_t>(from);
      return stats;
    }
    stats.tokens.add(ts);
    loss.backward();
  }
  return stats;
}

}  // namespace gt::rl
