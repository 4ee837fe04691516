// GRPO on the GPU against GRPO on the CPU (whose loss is checked by hand and by finite differences in tests/rl, and
// whose log-probs are transformers' in tests/model).
//
// The update: configs/tiny.json in f32, six sequences in micro-batches of 4 and 2, sampling temperature 0.7, stored
// old log-probs that put tokens on both sides of the clip range, reference log-probs with beta 0.04, one completion
// with weight 0. The log-probs agree within 1e-4 absolute (values near -8; the GPU's f32 reductions against the
// CPU's double log-sum-exp), the loss within 1e-5 relative, the clip counts exactly (no ratio is placed within 1e-3
// of a clip edge), and every parameter's gradient within 3e-4 relative (infinity norms), the bound of the SFT loss
// on the same config (test_cuda_model.cpp).
//
// The run: `gemma-tune grpo --device cuda` (f32, two iterations per batch, beta > 0: old and reference log-probs on
// the GPU, Adafactor on the GPU) against the same run on the CPU, both deterministic. Sampling reads the logits
// through a uniform draw, so the GPU draws the same tokens unless a draw falls within float rounding of a
// boundary of the cumulative distribution: the completions and rewards are compared exactly, the losses within
// 1e-4 relative.
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

double worst_gradient(const Gemma4& gpu, const Gemma4& cpu, std::string* worst_name) {
  double worst = 0;
  for (const auto& [n, p] : cpu.state().items()) {
    if (!p.requires_grad()) continue;
    const Tensor& q = gpu.state().at(n);
    EXPECT_EQ(p.has_grad(), q.has_grad()) << n;
    if (!p.has_grad() || !q.has_grad()) continue;
    const double e = rel_err(q.grad(), p.grad());
    if (e > worst) worst = e, *worst_name = n;
  }
  return worst;
}

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
  EXPECT_NEAR(sg.tokens.loss, sc.tokens.loss, 1e-5 * std::fabs(sc.tokens.loss));
  EXPECT_NEAR(sg.tokens.kl_sum, sc.tokens.kl_sum, 1e-4 * std::fabs(sc.tokens.kl_sum));
  std::string worst_name;
  const double worst = worst_gradient(gpu, cpu, &worst_name);
  std::printf(
      "[cuda] grpo tiny f32: log-probs max |diff| %.2e; loss %.8f (cpu %.8f); clipped low %lld high %lld of %lld; "
      "worst gradient rel. error %.3g (%s)\n",
      lp_err, sg.tokens.loss, sc.tokens.loss, static_cast<long long>(sg.tokens.low_clipped),
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
  ASSERT_EQ(sg.size(), sc.size());
  for (size_t i = 0; i < sg.size(); ++i) EXPECT_EQ(sg[i]["completions"], sc[i]["completions"]) << "batch " << i;
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(tg[i]["reward"], tc[i]["reward"]) << "step " << i + 1;
    EXPECT_EQ(tg[i]["completion_length"], tc[i]["completion_length"]) << "step " << i + 1;
    const double lg = tg[i]["loss"].get<double>(), lc = tc[i]["loss"].get<double>();
    std::printf("[cuda] grpo cli step %zu: reward %.3f, loss gpu %.8f cpu %.8f, kl %s, grad_norm gpu %.6f cpu %.6f\n",
                i + 1, tg[i]["reward"].get<double>(), lg, lc, tg[i]["kl"].dump().c_str(),
                tg[i]["grad_norm"].get<double>(), tc[i]["grad_norm"].get<double>());
    EXPECT_NEAR(lg, lc, 1e-4 * std::max(1e-3, std::fabs(lc))) << "step " << i + 1;
  }
}

}  // namespace
