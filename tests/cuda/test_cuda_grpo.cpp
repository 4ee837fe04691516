// GRPO on the GPU against GRPO on the CPU (whose loss is checked by hand and by finite differences in tests/rl, and
// whose log-probs are transformers' in tests/model).
//
// The update: configs/tiny.json in f32, six sequences in micro-batches of 4 and 2, sampling temperature 0.7, stored
// old log-probs that put tokens on both sides of the clip range, reference log-probs with beta 0.04, one completion
// with weight 0. The log-probs agree within 1e-4 absolute (values near -8; the GPU's f32 reductions against the
// CPU's double log-sum-exp), the loss and the KL sum within what that allows (derived below), the clip counts
// exactly (no ratio is placed within 1e-3 of a clip edge), and every parameter's gradient within 3e-4 relative (infinity norms), the bound of the SFT loss
// on the same config (test_cuda_model.cpp).
//
// The run: `gemma-tune grpo --device cuda` for four steps (f32, two iterations per batch, beta > 0: old and
// reference log-probs on the GPU, Adafactor on the GPU) against the same run on the CPU. Before the first update
// both sample from the same weights: the first batch's completions and rewards are the CPU's (a draw could differ
// only if it fell within float rounding of a boundary of the cumulative distribution), so the first step's loss
// (a function of the rewards: ratio 1 up to float rounding, KL 0; a value of order 0.1) is the CPU's within 1e-6
// and its gradient norm agrees within 3e-4
// relative, the gradients' bound. Later steps are printed, not compared: Adafactor's first step on a vector
// normalises each element by itself (U = G / |G|), so a gradient element within rounding of 0 may take the other
// sign on the other device, and the runs may then sample differently.
#include <filesystem>

#include "cuda_test.h"
#include "model/gemma4.h"
#include "rl/grpo.h"
#include "rl/grpo_fixture.h"
#include "rl/policy.h"

using namespace gt;
using namespace gt::rl;
using namespace gt::testing;

namespace {

class CudaGrpo : public CudaTest {};

TEST_F(CudaGrpo, PolicyLogprobsLossAndGradientsEqualTheCpu) {
  const Gemma4Config c = load_gemma4_config(GT_CONFIGS "/tiny.json");
  Gemma4 cpu = Gemma4::random(c, 5, 0.05), gpu = Gemma4::random(c, 5, 0.05);
  gpu.to(Device::CUDA);
  std::vector<std::vector<int64_t>> prompts, completions;
  for (int64_t s = 0; s < 6; ++s) {
    std::vector<int64_t> p{2}, q;
    for (int64_t t = 1; t < 20 + 7 * s; ++t) p.push_back((t * 7919 + 31 * s + 3) % c.vocab_size);
    for (int64_t t = 0; t < 9 + 3 * s; ++t) q.push_back((t * 104729 + 17 * s + 5) % c.vocab_size);
    prompts.push_back(p);
    completions.push_back(q);
  }
  std::vector<Sequence> seqs;
  for (size_t s = 0; s < prompts.size(); ++s) seqs.push_back({&prompts[s], &completions[s]});
  PolicyOptions po;
  po.temperature = 0.7;
  po.batch_size = 4;

  const auto lc = sequence_logprobs(cpu, seqs, po), lg = sequence_logprobs(gpu, seqs, po);
  double lp_err = 0;
  ASSERT_EQ(lc.size(), lg.size());
  for (size_t s = 0; s < lc.size(); ++s) {
    ASSERT_EQ(lc[s].size(), lg[s].size());
    for (size_t t = 0; t < lc[s].size(); ++t)
      lp_err = std::max(lp_err, std::fabs(static_cast<double>(lg[s][t]) - lc[s][t]));
  }

  // Ratios exp(-d) with d in {+-0.05, +-0.1, +-0.3, +-0.45}: inside and outside [0.8, 1.2], never near its edges.
  const double shifts[] = {0.05, -0.3, 0.1, 0.45, -0.05, -0.45, 0.3, -0.1};
  PolicyTargets targets;
  targets.advantage = {1.2, -0.8, 0.5, -1.5, 0.9, -0.3};
  targets.weight = {0.01, 0.02, 0.0, 0.015, 0.01, 0.03};
  for (size_t s = 0; s < lc.size(); ++s) {
    std::vector<float> old_lp, ref_lp;
    for (size_t t = 0; t < lc[s].size(); ++t) {
      old_lp.push_back(static_cast<float>(lc[s][t] + shifts[(s + t) % 8]));
      ref_lp.push_back(static_cast<float>(lc[s][t] - 0.5 * shifts[(s + 3 * t) % 8]));
    }
    targets.old_logp.push_back(old_lp);
    targets.ref_logp.push_back(ref_lp);
  }
  const ClipOptions clip{0.2, 0.2, 0.04};
  const PolicyStats sc = accumulate_policy_gradient(cpu, seqs, targets, clip, po);
  const PolicyStats sg = accumulate_policy_gradient(gpu, seqs, targets, clip, po);
  ASSERT_TRUE(sc.finite && sg.finite);
  EXPECT_EQ(sg.tokens.tokens, sc.tokens.tokens);
  EXPECT_EQ(sg.tokens.low_clipped, sc.tokens.low_clipped);
  EXPECT_EQ(sg.tokens.high_clipped, sc.tokens.high_clipped);
  EXPECT_GT(sc.tokens.low_clipped, 0);
  EXPECT_GT(sc.tokens.high_clipped, 0);
  // What the log-prob bound allows: per token |d loss / d logp| <= w (rho_max |A| + beta max|1 - e^delta|) with
  // rho <= e^0.45 and |delta| <= 0.225, and |d k3 / d logp| <= e^0.225 - 1.
  double loss_bound = 0, kl_bound = 0;
  for (size_t s = 0; s < lc.size(); ++s) {
    const auto n = static_cast<double>(lc[s].size());
    loss_bound += n * targets.weight[s] * (std::exp(0.45) * std::fabs(targets.advantage[s]) + 0.04 * (std::exp(0.225) - 1));
    if (targets.weight[s] > 0) kl_bound += n * (std::exp(0.225) - 1);
  }
  loss_bound *= 1e-4;
  kl_bound *= 1e-4;
  EXPECT_NEAR(sg.tokens.loss, sc.tokens.loss, loss_bound);
  EXPECT_NEAR(sg.tokens.kl_sum, sc.tokens.kl_sum, kl_bound);
  std::string worst_name;
  const double worst = worst_gradient(gpu, cpu, &worst_name);
  std::printf(
      "[cuda] grpo tiny f32: log-probs max |diff| %.2e; loss %.8f (cpu %.8f, bound %.1e); kl sum %.6f (cpu %.6f); "
      "clipped low %lld high %lld of %lld; worst gradient rel. error %.3g (%s)\n",
      lp_err, sg.tokens.loss, sc.tokens.loss, loss_bound, sg.tokens.kl_sum, sc.tokens.kl_sum, static_cast<long long>(sg.tokens.low_clipped),
      static_cast<long long>(sg.tokens.high_clipped), static_cast<long long>(sg.tokens.tokens), worst,
      worst_name.c_str());
  EXPECT_LE(lp_err, 1e-4);
  EXPECT_LE(worst, 3e-4) << worst_name;
}

TEST_F(CudaGrpo, CliRunOnTheGpuEqualsTheCpuRun) {
  GrpoFixture f;
  const json settings = {{"max_steps", 4},
                         {"num_iterations", 2},
                         {"loss", {{"beta", 0.04}}},
                         {"reward", {{"command", kSpecialTokenReward}}},
                         {"optimizer", {{"lr", 5e-2}}}};
  const CommandResult g = run_gemma_tune("grpo --device cuda --config " + f.config_file(settings, "gpu"));
  ASSERT_EQ(g.rc, 0) << g.output;
  std::printf("[cuda] gemma-tune grpo --device cuda:\n%s", g.output.c_str());
  EXPECT_TRUE(std::filesystem::exists(f.sft.dir.path / "gpu" / "final" / "model.safetensors"));
  const GrpoResult rc = run_grpo(f.config(settings, "cpu"));
  ASSERT_TRUE(rc.finished);
  const auto tg = read_records((f.sft.dir.path / "gpu" / "metrics.jsonl").string(), "train");
  const auto tc = read_records((f.sft.dir.path / "cpu" / "metrics.jsonl").string(), "train");
  ASSERT_EQ(tg.size(), 4u);
  ASSERT_EQ(tc.size(), 4u);
  const auto sg = read_records((f.sft.dir.path / "gpu" / "metrics.jsonl").string(), "samples");
  const auto sc = read_records((f.sft.dir.path / "cpu" / "metrics.jsonl").string(), "samples");
  ASSERT_FALSE(sg.empty());
  ASSERT_FALSE(sc.empty());
  EXPECT_EQ(sg[0]["completions"], sc[0]["completions"]);
  EXPECT_EQ(tg[0]["reward"], tc[0]["reward"]);
  EXPECT_NEAR(tg[0]["loss"].get<double>(), tc[0]["loss"].get<double>(), 1e-6);
  const double ng = tg[0]["grad_norm"].get<double>(), nc = tc[0]["grad_norm"].get<double>();
  EXPECT_NEAR(ng, nc, 3e-4 * nc);
  for (size_t i = 0; i < 4; ++i) {
    for (const char* k : {"loss", "grad_norm", "reward", "kl"})
      EXPECT_TRUE(tg[i][k].is_number() && std::isfinite(tg[i][k].get<double>())) << k << " at step " << i + 1;
    std::printf("[cuda] grpo cli step %zu: reward gpu %.3f cpu %.3f, loss gpu %.8f cpu %.8f, kl gpu %.3g cpu %.3g, "
                "grad_norm gpu %.8f cpu %.8f\n",
                i + 1, tg[i]["reward"].get<double>(), tc[i]["reward"].get<double>(), tg[i]["loss"].get<double>(),
                tc[i]["loss"].get<double>(), tg[i]["kl"].get<double>(), tc[i]["kl"].get<double>(),
                tg[i]["grad_norm"].get<double>(), tc[i]["grad_norm"].get<double>());
  }
}

}  // namespace
