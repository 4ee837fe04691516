#include "rl/grpo_loss.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "autograd/autograd.h"
#include "base/error.h"

namespace gt::rl {

const char* loss_type_name(LossType t) {
  switch (t) {
    case LossType::Grpo: return "grpo";
    case LossType::Bnpo: return "bnpo";
    case LossType::DrGrpo: return "dr_grpo";
    case LossType::Dapo: return "dapo";
  }
  return "?";
}

const char* importance_level_name(ImportanceLevel l) { return l == ImportanceLevel::Token ? "token" : "sequence"; }

const char* scale_rewards_name(ScaleRewards s) {
  switch (s) {
    case ScaleRewards::Group: return "group";
    case ScaleRewards::Batch: return "batch";
    case ScaleRewards::None: return "none";
  }
  return "?";
}

namespace {

double mean_of(const double* x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += x[i];
  return s / static_cast<double>(n);
}

// Bessel-corrected standard deviation (torch.std's default).
double std_of(const double* x, size_t n) {
  const double m = mean_of(x, n);
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += (x[i] - m) * (x[i] - m);
  return std::sqrt(s / static_cast<double>(n - 1));
}

constexpr double kZeroStd = 1e-8;  // torch.isclose(std, 0)'s atol

}  // namespace

Advantages compute_advantages(const std::vector<double>& rewards, int64_t group_size, ScaleRewards scale) {
  GT_CHECK(group_size >= 2 && !rewards.empty() && rewards.size() % static_cast<size_t>(group_size) == 0,
           "grpo: ", rewards.size(), " rewards do not form groups of ", group_size, " (group size >= 2)");
  const size_t G = static_cast<size_t>(group_size), groups = rewards.size() / G;
  const double batch_std = scale == ScaleRewards::Batch ? std_of(rewards.data(), rewards.size()) : 0.0;
  Advantages a;
  a.values.resize(rewards.size());
  a.zero_std.resize(groups);
  double std_sum = 0;
  int64_t zero = 0;
  for (size_t g = 0; g < groups; ++g) {
    const double* r = rewards.data() + g * G;
    const double m = mean_of(r, G), s = std_of(r, G);
    std_sum += s;
    a.zero_std[g] = s <= kZeroStd;
    zero += a.zero_std[g];
    const double divisor = scale == ScaleRewards::Group   ? s + 1e-4
                           : scale == ScaleRewards::Batch ? batch_std + 1e-4
                                                          : 1.0;
    for (size_t i = 0; i < G; ++i) a.values[g * G + i] = a.zero_std[g] ? 0.0 : (r[i] - m) / divisor;
  }
  a.zero_std_fraction = static_cast<double>(zero) / static_cast<double>(groups);
  a.mean_group_std = std_sum / static_cast<double>(groups);
  return a;
}

std::vector<double> completion_weights(const std::vector<int64_t>& counted, const std::vector<int64_t>& length,
                                       const AggregationOptions& a) {
  const int64_t N = static_cast<int64_t>(counted.size());
  GT_CHECK(N > 0 && length.size() == counted.size(), "grpo: completion_weights needs one count and length each");
  const int64_t B = a.batch_size > 0 ? a.batch_size : N;
  GT_CHECK(N % B == 0, "grpo: loss batches of ", B, " completions do not divide the ", N, " completions");
  GT_CHECK(a.max_completion_length > 0, "grpo: max_completion_length must be > 0");
  const auto n = static_cast<double>(N);
  std::vector<double> w(static_cast<size_t>(N));
  switch (a.type) {
    case LossType::Grpo:
      for (int64_t i = 0; i < N; ++i)
        w[static_cast<size_t>(i)] =
            1.0 / (static_cast<double>(std::max<int64_t>(1, counted[static_cast<size_t>(i)])) * n);
      break;
    case LossType::Bnpo:
      for (int64_t b = 0; b < N; b += B) {
        int64_t tokens = 0;
        for (int64_t i = b; i < b + B; ++i) tokens += counted[static_cast<size_t>(i)];
        const double wb = 1.0 / (static_cast<double>(std::max<int64_t>(1, tokens)) * (n / static_cast<double>(B)));
        std::fill(w.begin() + b, w.begin() + b + B, wb);
      }
      break;
    case LossType::DrGrpo:
      std::fill(w.begin(), w.end(), 1.0 / (n * static_cast<double>(a.max_completion_length)));
      break;
    case LossType::Dapo: {
      int64_t all = 0;
      for (int64_t l : length) all += l;
      std::fill(w.begin(), w.end(), 1.0 / static_cast<double>(std::max<int64_t>(1, all)));
      break;
    }
  }
  // A completion with no tokens in the loss gets no weight, so callers can give every token its completion's.
  for (int64_t i = 0; i < N; ++i)
    if (counted[static_cast<size_t>(i)] == 0) w[static_cast<size_t>(i)] = 0;
  return w;
}

BatchWeights plan_batch(const std::vector<double>& rewards, const std::vector<int64_t>& lengths,
                        const std::vector<uint8_t>& truncated, int64_t group_size, ScaleRewards scale,
                        const AggregationOptions& aggregation, bool mask_truncated) {
  GT_CHECK(lengths.size() == rewards.size() && truncated.size() == rewards.size(),
           "grpo: plan_batch needs one length and truncation flag per reward");
  BatchWeights b;
  b.advantages = compute_advantages(rewards, group_size, scale);
  b.counted = lengths;
  if (mask_truncated)
    for (size_t i = 0; i < lengths.size(); ++i)
      if (truncated[i]) b.counted[i] = 0;
  b.weights = completion_weights(b.counted, lengths, aggregation);
  return b;
}

void TokenStats::add(const TokenStats& o) {
  tokens += o.tokens;
  low_clipped += o.low_clipped;
  high_clipped += o.high_clipped;
  kl_sum += o.kl_sum;
  ratio_sum += o.ratio_sum;
  loss += o.loss;
}

namespace {

struct ClippedTerm {
  double loss;   // -min(r A, clip(r) A)
  double dlogr;  // its derivative in log r (r times its derivative in r)
};

// -min(u, v), u = r A, v = clip(r) A, with torch.minimum's gradient: all to the smaller side, half to each on a tie;
// the clamped side passes a gradient only inside the range.
ClippedTerm clipped_term(double r, double A, double lo, double hi) {
  const double u = r * A, v = std::clamp(r, lo, hi) * A;
  const bool inside = r >= lo && r <= hi;
  double d;
  if (u < v)
    d = -r * A;
  else if (u > v)
    d = inside ? -r * A : 0.0;
  else
    d = -0.5 * r * A + (inside ? -0.5 * r * A : 0.0);
  return {-std::min(u, v), d};
}

// GSPO's ratio per completion: exp of the mean log-ratio over its elements with a positive weight.
std::vector<double> sequence_ratios(const std::vector<float>& lp, const TokenInputs& in) {
  int32_t count = 0;
  for (int32_t s : in.sequence) count = std::max(count, s + 1);
  std::vector<double> sum(static_cast<size_t>(count), 0.0), n(static_cast<size_t>(count), 0.0);
  for (size_t k = 0; k < lp.size(); ++k) {
    if (in.weight[k] == 0 || in.sequence[k] < 0) continue;
    const double old = in.old_logp.empty() ? lp[k] : in.old_logp[k];
    sum[static_cast<size_t>(in.sequence[k])] += static_cast<double>(lp[k]) - old;
    n[static_cast<size_t>(in.sequence[k])] += 1;
  }
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = std::exp(sum[i] / std::max(1.0, n[i]));
  return sum;
}

}  // namespace

Tensor grpo_token_loss(const Tensor& logp, const TokenInputs& in, const ClipOptions& clip, TokenStats* stats) {
  const auto n = static_cast<size_t>(logp.numel());
  const bool per_sequence = clip.level == ImportanceLevel::Sequence;
  GT_CHECK(in.advantage.size() == n && in.weight.size() == n && (in.old_logp.empty() || in.old_logp.size() == n) &&
               (in.ref_logp.empty() || in.ref_logp.size() == n) && (!per_sequence || in.sequence.size() == n),
           "grpo_token_loss: logp ", logp.str(),
           " needs one advantage, weight (old/ref log-prob, sequence index) per element");
  GT_CHECK(clip.beta == 0 || !in.ref_logp.empty(), "grpo_token_loss: beta ", clip.beta, " needs reference log-probs");
  GT_CHECK(clip.eps_low >= 0 && clip.eps_low < 1 && clip.eps_high >= 0, "grpo_token_loss: bad clip range eps_low ",
           clip.eps_low, ", eps_high ", clip.eps_high);
  const std::vector<float> lp = logp.to_floats();
  const std::vector<double> seq_ratio = per_sequence ? sequence_ratios(lp, in) : std::vector<double>{};
  const double lo = 1.0 - clip.eps_low, hi = 1.0 + clip.eps_high;
  // d loss / d logp per element, before the upstream gradient.
  auto dlp = std::make_shared<std::vector<double>>(n, 0.0);
  TokenStats st;
  double total = 0;
  for (size_t k = 0; k < n; ++k) {
    const double w = in.weight[k];
    if (w == 0) continue;
    const double x = lp[k], A = in.advantage[k];
    double rho;
    if (per_sequence) {
      GT_CHECK(in.sequence[k] >= 0, "grpo_token_loss: element ", k, " has a weight but no sequence");
      rho = seq_ratio[static_cast<size_t>(in.sequence[k])];
    } else {
      rho = in.old_logp.empty() ? 1.0 : std::exp(x - static_cast<double>(in.old_logp[k]));
    }
    const ClippedTerm term = clipped_term(rho, A, lo, hi);
    double loss = term.loss, d = term.dlogr;
    if (!in.ref_logp.empty()) {
      const double delta = static_cast<double>(in.ref_logp[k]) - x;
      const double kl = std::exp(delta) - delta - 1.0;
      st.kl_sum += kl;
      if (clip.beta != 0) {
        loss += clip.beta * kl;
        d += clip.beta * (1.0 - std::exp(delta));
      }
    }
    total += w * loss;
    (*dlp)[k] = w * d;
    ++st.tokens;
    st.ratio_sum += rho;
    st.low_clipped += rho < lo && A < 0;
    st.high_clipped += rho > hi && A > 0;
  }
  st.loss = total;
  if (stats) *stats = st;
  // The arithmetic is on the host in double (a few values per completion); the loss and the gradient live on
  // logp's device.
  const Device dev = logp.device();
  Tensor out = Tensor::full({}, total).to(dev);
  if (any_requires_grad({logp})) {
    record("grpo_token_loss", {logp}, {out}, [dlp, shape = logp.shape(), dev](GradSink& g) {
      const double up = g.out().item();
      std::vector<float> grad(dlp->size());
      for (size_t k = 0; k < grad.size(); ++k) grad[k] = static_cast<float>(up * (*dlp)[k]);
      g.add(0, Tensor::from_vector(grad, shape).to(dev));
    });
  }
  return out;
}

}  // namespace gt::rl
