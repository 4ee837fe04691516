// The GRPO objective on a tiny fixed batch: advantages, the four aggregations, the clipped surrogate on both sides
// and the k3 KL term, against values from tests/golden/grpo_loss_reference.py (TRL's semantics in plain Python)
// and against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "rl/grpo_loss.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::rl;

namespace {

// Two prompts, two completions each, of 3, 2, 2 and 1 tokens (flattened in that order).
const std::vector<int64_t> kLengths = {3, 2, 2, 1};
const std::vector<float> kLogp = {-1.0f, -0.5f, -2.0f, -0.7f, -1.1f, -0.2f, -3.0f, -1.5f};
// Ratios exp(logp - old): 1.35 (A > 0: clipped high), 0.95, 0.67 (A > 0: below the range, unclipped side);
// 0.67 (A < 0: clipped low), 1.35 (A < 0: unclipped side); 1.05, 1.65 (A > 0: clipped high); 0.95.
const std::vector<float> kOld = {-1.3f, -0.45f, -1.6f, -0.3f, -1.4f, -0.25f, -3.5f, -1.45f};
const std::vector<float> kRef = {-1.1f, -0.4f, -1.8f, -0.9f, -1.0f, -0.3f, -2.7f, -1.2f};
const std::vector<double> kRewards = {0.9, 0.3, 0.5, 0.1};
constexpr double kBeta = 0.04;

struct Expected {
  LossType type;
  bool mask_last;  // the last completion is a truncated one, masked out
  double loss;
  std::vector<double> grad;
};

// Output of tests/golden/grpo_loss_reference.py.
const std::vector<Expected> kExpected = {
    {LossType::Grpo,
     false,
     -0.0060682868655357047,
     {0.000317208676, -0.05638909201, -0.04022769004, 0.0009063461787, 0.1187578137, -0.09241146132, -0.00174929371,
      0.1645971839}},
    {LossType::Bnpo,
     false,
     -0.19972345584993939,
     {0.000380650414, -0.06766691041, -0.04827322804, 0.0007250769429, 0.09500625095, -0.1232152818, -0.002332391613,
      0.1097314559}},
    {LossType::DrGrpo,
     false,
     -0.086712111899761773,
     {0.000237906507, -0.04229181901, -0.03017076753, 0.0004531730893, 0.05937890685, -0.04620573066, -0.0008746468549,
      0.04114929597}},
    {LossType::Dapo,
     false,
     -0.17342422379952355,
     {0.000475813014, -0.08458363801, -0.06034153506, 0.0009063461787, 0.1187578137, -0.09241146132, -0.00174929371,
      0.08229859194}},
    {LossType::Grpo,
     true,
     -0.17466264609499799,
     {0.000317208676, -0.05638909201, -0.04022769004, 0.0009063461787, 0.1187578137, -0.09241146132, -0.00174929371,
      0}},
    {LossType::Bnpo,
     true,
     -0.44454791109230235,
     {0.0003806504001, -0.06766691041, -0.04827322805, 0.0007250769429, 0.09500625098, -0.1848229226, -0.00349858742,
      0}},
    {LossType::DrGrpo,
     true,
     -0.12886070170712735,
     {0.0002379065001, -0.04229181901, -0.03017076754, 0.0004531730824, 0.05937890686, -0.04620573066, -0.0008746468549,
      0}},
    {LossType::Dapo,
     true,
     -0.2577214034142547,
     {0.0004758130001, -0.08458363801, -0.06034153507, 0.0009063461648, 0.1187578137, -0.09241146132, -0.00174929371,
      0}},
};

// importance_sampling_level "sequence" (GSPO), same batch; output of the same script.
const std::vector<Expected> kExpectedSequence = {
    {LossType::Grpo,
     false,
     -0.042965008538995653,
     {-0.05572131362, -0.05638909201, -0.05677653168, 0.08496412963, 0.08353192871, 0.0004758129446, -0.00174929371,
      0.1645971839}},
    {LossType::Dapo,
     false,
     -0.21126761976384029,
     {-0.08358197043, -0.08458363801, -0.08516479752, 0.08496412965, 0.08353192871, 0.0004758129446, -0.00174929371,
      0.08229859194}},
    {LossType::Grpo,
     true,
     -0.21155936776845793,
     {-0.05572131362, -0.05638909201, -0.05677653168, 0.08496412963, 0.08353192871, 0.0004758129446, -0.00174929371,
      0}},
    {LossType::Dapo,
     true,
     -0.29556479937857144,
     {-0.08358197043, -0.08458363801, -0.08516479752, 0.08496412962, 0.08353192871, 0.0004758129446, -0.00174929371,
      0}},
};

// Per-token inputs of the fixed batch for one aggregation.
TokenInputs inputs_for(LossType type, bool mask_last, BatchWeights* plan_out = nullptr) {
  const AggregationOptions agg{type, /*batch_size=*/2, /*max_completion_length=*/4};
  const BatchWeights plan = plan_batch(kRewards, kLengths, {0, 0, 0, uint8_t(mask_last)}, 2, ScaleRewards::Group, agg,
                                       /*mask_truncated=*/true);
  TokenInputs in;
  for (size_t i = 0; i < kLengths.size(); ++i)
    for (int64_t t = 0; t < kLengths[i]; ++t) {
      in.advantage.push_back(plan.advantages.values[i]);
      in.weight.push_back(plan.counted[i] > 0 ? plan.weights[i] : 0.0);
      in.sequence.push_back(static_cast<int32_t>(i));
    }
  in.old_logp = kOld;
  in.ref_logp = kRef;
  if (plan_out) *plan_out = plan;
  return in;
}

Tensor leaf(const std::vector<float>& v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  t.requires_grad_(true);
  return t;
}

}  // namespace

TEST(GrpoAdvantages, GroupBatchAndNoneScalingByHand) {
  // Group 0: mean 0.6, Bessel std 0.6 / sqrt(2); group 1: mean 0.3, std 0.4 / sqrt(2).
  const Advantages g = compute_advantages(kRewards, 2, ScaleRewards::Group);
  const double s0 = 0.6 / std::sqrt(2.0), s1 = 0.4 / std::sqrt(2.0);
  const std::vector<double> want = {0.3 / (s0 + 1e-4), -0.3 / (s0 + 1e-4), 0.2 / (s1 + 1e-4), -0.2 / (s1 + 1e-4)};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(g.values[i], want[i], 1e-15) << i;
  EXPECT_NEAR(g.values[0], 0.70694015379433384, 1e-15);  // the reference script's value
  EXPECT_NEAR(g.mean_group_std, (s0 + s1) / 2, 1e-15);
  EXPECT_EQ(g.zero_std_fraction, 0.0);

  // Batch: the group mean is subtracted, the std is the whole batch's (mean 0.45; squares 0.2025, 0.0225, 0.0025,
  // 0.1225 sum to 0.35; Bessel: 0.35 / 3).
  const Advantages b = compute_advantages(kRewards, 2, ScaleRewards::Batch);
  const double sb = std::sqrt(0.35 / 3);
  const std::vector<double> want_b = {0.3 / (sb + 1e-4), -0.3 / (sb + 1e-4), 0.2 / (sb + 1e-4), -0.2 / (sb + 1e-4)};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(b.values[i], want_b[i], 1e-14) << i;

  const Advantages n = compute_advantages(kRewards, 2, ScaleRewards::None);
  const std::vector<double> want_n = {0.3, -0.3, 0.2, -0.2};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(n.values[i], want_n[i], 1e-15) << i;
}

TEST(GrpoAdvantages, ZeroStdGroupsGiveExactlyZeroAdvantageInEveryMode) {
  // 0.1 four times: the float mean is not exactly 0.1, so only the explicit rule makes these advantages zero.
  const std::vector<double> r = {0.1, 0.1, 0.1, 0.1, 0.2, 0.7, 0.95, 0.0, 0.3, 0.3, 0.3, 0.3};
  for (ScaleRewards s : {ScaleRewards::Group, ScaleRewards::Batch, ScaleRewards::None}) {
    SCOPED_TRACE(scale_rewards_name(s));
    const Advantages a = compute_advantages(r, 4, s);
    for (size_t i : {0u, 1u, 2u, 3u, 8u, 9u, 10u, 11u}) EXPECT_EQ(a.values[i], 0.0) << i;
    for (size_t i = 4; i < 8; ++i) EXPECT_NE(a.values[i], 0.0) << i;
    EXPECT_EQ(a.zero_std, (std::vector<uint8_t>{1, 0, 1}));
    EXPECT_DOUBLE_EQ(a.zero_std_fraction, 2.0 / 3);
  }
  // A zero-std group contributes nothing to the loss (beta 0): its gradient is exactly zero.
  const Tensor lp = leaf({-1.f, -2.f});
  TokenInputs in{{0.0, 0.0}, {0.5, 0.5}, {-1.2f, -1.9f}, {}};
  grpo_token_loss(lp, in, {}).backward();
  EXPECT_EQ(lp.grad().to_floats(), (std::vector<float>{0.f, 0.f}));
  EXPECT_THROW(compute_advantages({0.1, 0.2, 0.3}, 2, ScaleRewards::Group), Error);
  EXPECT_THROW(compute_advantages({0.1}, 1, ScaleRewards::Group), Error);
}

TEST(GrpoLoss, EachLossTypeEqualsTheReferenceWithClippingOnBothSidesAndKl) {
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(std::string(loss_type_name(e.type)) + (e.mask_last ? " (last masked)" : ""));
    const TokenInputs in = inputs_for(e.type, e.mask_last);
    const Tensor lp = leaf(kLogp);
    TokenStats st;
    const Tensor loss = grpo_token_loss(lp, in, {0.2, 0.2, kBeta}, &st);
    // The same double arithmetic on the same float32 inputs, in another order: 1e-14 relative.
    EXPECT_NEAR(st.loss, e.loss, 1e-14 * std::fabs(e.loss));
    EXPECT_NEAR(loss.item(), e.loss, 1e-7 * std::fabs(e.loss));  // the float32 result
    loss.backward();
    const std::vector<float> g = lp.grad().to_floats();
    // float32 gradients of double values; the reference's central differences are good to ~1e-10.
    for (size_t k = 0; k < g.size(); ++k) EXPECT_NEAR(g[k], e.grad[k], 1e-7 * std::fabs(e.grad[k]) + 1e-9) << k;
    // Both clips bite: token 3 (A < 0, ratio 0.67) low, tokens 0 and 6 (A > 0, ratios 1.35 and 1.65) high.
    EXPECT_EQ(st.low_clipped, 1);
    EXPECT_EQ(st.high_clipped, 2);
    EXPECT_EQ(st.tokens, e.mask_last ? 7 : 8);
  }
}

// GSPO: one ratio per completion, exp of its mean log-ratio: 0.951 (completions 0, 1 and 3) and 1.317 (completion
// 2, A > 0: both its tokens clipped high).
TEST(GrpoLoss, SequenceLevelRatiosEqualTheReference) {
  for (const Expected& e : kExpectedSequence) {
    SCOPED_TRACE(std::string(loss_type_name(e.type)) + (e.mask_last ? " (last masked)" : ""));
    const TokenInputs in = inputs_for(e.type, e.mask_last);
    const Tensor lp = leaf(kLogp);
    TokenStats st;
    const Tensor loss = grpo_token_loss(lp, in, {0.2, 0.2, kBeta, ImportanceLevel::Sequence}, &st);
    EXPECT_NEAR(st.loss, e.loss, 1e-14 * std::fabs(e.loss));
    loss.backward();
    const std::vector<float> g = lp.grad().to_floats();
    for (size_t k = 0; k < g.size(); ++k) EXPECT_NEAR(g[k], e.grad[k], 1e-7 * std::fabs(e.grad[k]) + 1e-9) << k;
    EXPECT_EQ(st.low_clipped, 0);
    EXPECT_EQ(st.high_clipped, 2);
  }
  // On a batch used once (no stored log-probs) both levels give the same loss and gradient, bit for bit.
  TokenInputs in = inputs_for(LossType::Grpo, false);
  in.old_logp.clear();
  std::vector<float> grads[2];
  for (ImportanceLevel level : {ImportanceLevel::Token, ImportanceLevel::Sequence}) {
    const Tensor lp = leaf(kLogp);
    grpo_token_loss(lp, in, {0.2, 0.2, kBeta, level}).backward();
    grads[static_cast<int>(level)] = lp.grad().to_floats();
  }
  EXPECT_EQ(grads[0], grads[1]);
  // Finite differences through the sequence mean (no ratio within 0.1 of a clip edge: steps of 1e-2 cross none).
  const TokenInputs fd = inputs_for(LossType::Dapo, false);
  EXPECT_LE(gt::testing::gradcheck(
                [&](auto& v) {
                  return std::vector<Tensor>{grpo_token_loss(v[0], fd, {0.2, 0.2, kBeta, ImportanceLevel::Sequence})};
                },
                {leaf(kLogp)}),
            1.0);
  in.sequence.clear();
  EXPECT_THROW(grpo_token_loss(leaf(kLogp), in, {0.2, 0.2, 0, ImportanceLevel::Sequence}), Error);
}

TEST(GrpoLoss, ClippedTokensPassOnlyTheKlGradient) {
  // With beta 0 the clipped tokens (0, 3, 6) get no gradient at all, the others -rho A w.
  BatchWeights plan;
  const TokenInputs in = inputs_for(LossType::Dapo, false, &plan);
  const Tensor lp = leaf(kLogp);
  grpo_token_loss(lp, in, {0.2, 0.2, 0.0}).backward();
  const std::vector<float> g = lp.grad().to_floats();
  for (size_t k : {0u, 3u, 6u}) EXPECT_EQ(g[k], 0.f) << k;
  for (size_t k : {1u, 2u, 4u, 5u, 7u}) {
    const double rho = std::exp(static_cast<double>(kLogp[k]) - kOld[k]);
    EXPECT_NEAR(g[k], -rho * in.advantage[k] * in.weight[k], 1e-7 * std::fabs(g[k])) << k;
  }
  EXPECT_DOUBLE_EQ(in.weight[0], 1.0 / 8);  // dapo: the token mean over all 8 tokens
}

TEST(GrpoLoss, WithoutStoredLogProbsTheRatioIsOneAndTheGradientMinusAw) {
  const TokenInputs base = inputs_for(LossType::Grpo, false);
  TokenInputs in = base;
  in.old_logp.clear();
  in.ref_logp.clear();
  const Tensor lp = leaf(kLogp);
  TokenStats st;
  const Tensor loss = grpo_token_loss(lp, in, {}, &st);
  double want = 0;
  for (size_t k = 0; k < kLogp.size(); ++k) want -= in.advantage[k] * in.weight[k];
  EXPECT_NEAR(st.loss, want, 1e-15);
  loss.backward();
  const std::vector<float> g = lp.grad().to_floats();
  for (size_t k = 0; k < g.size(); ++k) EXPECT_FLOAT_EQ(g[k], static_cast<float>(-in.advantage[k] * in.weight[k]));
  EXPECT_EQ(st.low_clipped + st.high_clipped, 0);
  EXPECT_DOUBLE_EQ(st.ratio_sum, 8.0);
  // Each completion's token mean of -A is -A, and the advantages of a group sum to zero: the grpo loss of a batch
  // used once is 0 ("loss is 0" is expected, docs/pitfalls.md item 9), while its gradient is not.
  EXPECT_NEAR(st.loss, 0.0, 1e-15);
}

TEST(GrpoLoss, GradientMatchesFiniteDifferencesForEveryLossType) {
  for (LossType t : {LossType::Grpo, LossType::Bnpo, LossType::DrGrpo, LossType::Dapo}) {
    SCOPED_TRACE(loss_type_name(t));
    const TokenInputs in = inputs_for(t, false);
    // Every ratio is at least 0.13 from a clip edge, so the steps of h = 1e-2 never cross a kink.
    EXPECT_LE(gt::testing::gradcheck(
                  [&](auto& v) {
                    return std::vector<Tensor>{grpo_token_loss(v[0], in, {0.2, 0.2, kBeta})};
                  },
                  {leaf(kLogp)}),
              1.0);
  }
}

TEST(GrpoLoss, TruncatedMaskingDropsTheTokensButKeepsTheRewardInTheGroup) {
  BatchWeights masked, kept;
  inputs_for(LossType::Bnpo, true, &masked);
  inputs_for(LossType::Bnpo, false, &kept);
  EXPECT_EQ(masked.counted, (std::vector<int64_t>{3, 2, 2, 0}));
  // Same advantages: the masked completion's reward 0.1 still sets its group's mean and std.
  EXPECT_EQ(masked.advantages.values, kept.advantages.values);
  EXPECT_NEAR(masked.advantages.values[2], 0.2 / (0.4 / std::sqrt(2.0) + 1e-4), 1e-15);
  // bnpo's second loss batch now has 2 tokens instead of 3; dapo keeps all 8 in its count (TRL).
  EXPECT_DOUBLE_EQ(masked.weights[2], 1.0 / (2 * 2));
  EXPECT_DOUBLE_EQ(kept.weights[2], 1.0 / (3 * 2));
  BatchWeights dapo;
  inputs_for(LossType::Dapo, true, &dapo);
  EXPECT_DOUBLE_EQ(dapo.weights[0], 1.0 / 8);
}

TEST(GrpoLoss, BadInputsAreRefused) {
  const Tensor lp = leaf({-1.f, -2.f});
  EXPECT_THROW(grpo_token_loss(lp, TokenInputs{{1.0}, {1.0, 1.0}, {}, {}}, {}), Error);
  EXPECT_THROW(grpo_token_loss(lp, TokenInputs{{1.0, 1.0}, {1.0, 1.0}, {}, {}}, {0.2, 0.2, 0.1}), Error);
  EXPECT_THROW(completion_weights({1, 2, 3}, {1, 2, 3}, {LossType::Bnpo, 2, 4}), Error);
}
