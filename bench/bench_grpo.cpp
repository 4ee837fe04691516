// GRPO throughput on the demo's model (configs/tiny.json, configs/tiny-tokenizer.json, random f32 weights) and a
// synthesized plan prompt (about 170 tokens). Run: build/bench_grpo.
//
// Rollout: one group of G = 4 completions of 64 new tokens at temperature 1, top_p 0.9 (the published sampling;
// random weights rarely stop early), the prompt prefilled once and its cache forked. The reference in the same run
// is the same four completions from four separate generate calls, each with its own prefill: the ratio is what
// sharing the prompt's cache buys. Counter: new tokens/s.
// Policy update: the GRPO step on that group (forward and backward of prompt + completion in micro-batches of 4, the
// dapo loss, Adafactor); the reference is an SFT step on the same sequences (the chunked cross-entropy on the
// completion tokens). Counter: tokens/s over prompt + completion tokens.
#include <benchmark/benchmark.h>

#include <chrono>

#include "autograd/parallel.h"
#include "data/chat_format.h"
#include "data/synth.h"
#include "data/tokenizer.h"
#include "model/generate.h"
#include "optim/adafactor.h"
#include "rl/policy.h"
#include "train/sft.h"

using namespace gt;

namespace {

constexpr int64_t kGroup = 4, kNewTokens = 64;

struct Setup {
  Gemma4 model = Gemma4::random(load_gemma4_config(GT_CONFIGS "/tiny.json"), 1, 0.02);
  std::vector<int64_t> prompt;
  Setup() {
    num_threads();  // apply the thread budget before the first GEMM
    const data::Tokenizer tok = data::Tokenizer::from_file(GT_CONFIGS "/tiny-tokenizer.json");
    const data::PlanSample s = data::synth::synthesize({.train = 1, .heldout = 0, .seed = 5}).train.at(0);
    const data::EncodedChat e = data::encode_plan_sample(tok, s, false);
    prompt.assign(e.ids.begin(), e.ids.end());
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

GenerateOptions sampling(int64_t samples) {
  GenerateOptions g;
  g.max_new_tokens = kNewTokens;
  g.num_samples = samples;
  g.sampling = {.temperature = 1.0, .top_k = 0, .top_p = 0.9, .seed = 3};
  g.stop_ids = {};  // fixed-length completions, so both sides generate the same number of tokens
  return g;
}

void BM_RolloutSharedPrefill(benchmark::State& st) {
  Setup& s = setup();
  int64_t tokens = 0;
  for (auto _ : st)
    for (const Generation& g : generate(s.model, s.prompt, sampling(kGroup)))
      tokens += static_cast<int64_t>(g.tokens.size());
  st.counters["new_tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

void BM_RolloutSeparatePrefills(benchmark::State& st) {
  Setup& s = setup();
  int64_t tokens = 0;
  for (auto _ : st)
    for (int64_t k = 0; k < kGroup; ++k)
      tokens += static_cast<int64_t>(generate(s.model, s.prompt, sampling(1))[0].tokens.size());
  st.counters["new_tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

std::vector<std::vector<int64_t>> completions() {
  std::vector<std::vector<int64_t>> out;
  for (Generation& g : generate(setup().model, setup().prompt, sampling(kGroup))) out.push_back(std::move(g.tokens));
  return out;
}

void BM_PolicyUpdateGrpo(benchmark::State& st) {
  Setup& s = setup();
  const auto cs = completions();
  std::vector<rl::Sequence> seqs;
  for (const auto& c : cs) seqs.push_back({&s.prompt, &c});
  rl::PolicyTargets t;
  t.advantage = {0.9, -0.3, 0.5, -1.1};
  int64_t all = 0;
  for (const auto& c : cs) all += static_cast<int64_t>(c.size());
  t.weight.assign(kGroup, 1.0 / static_cast<double>(all));  // dapo
  Adafactor opt(s.model.state().trainable());
  int64_t tokens = 0;
  for (auto _ : st) {
    tokens += rl::accumulate_policy_gradient(s.model, seqs, t, {}, {}).tokens_processed;
    opt.step();
    opt.zero_grad();
  }
  st.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

void BM_PolicyUpdateSftReference(benchmark::State& st) {
  Setup& s = setup();
  std::vector<train::TokenizedSample> samples;
  for (const auto& c : completions()) {
    train::TokenizedSample x;
    x.id = "bench";
    x.ids.assign(s.prompt.begin(), s.prompt.end());
    x.ids.insert(x.ids.end(), c.begin(), c.end());
    x.mask.assign(x.ids.size(), 0);
    std::fill(x.mask.begin() + static_cast<std::ptrdiff_t>(s.prompt.size()), x.mask.end(), 1);
    x.first_trainable = static_cast<int64_t>(s.prompt.size());
    x.trainable = static_cast<int64_t>(c.size());
    samples.push_back(std::move(x));
  }
  Adafactor opt(s.model.state().trainable());
  int64_t tokens = 0;
  for (auto _ : st) {
    for (const auto& x : samples) {
      train::sample_loss(s.model, x, {}, static_cast<double>(x.trainable)).backward();
      tokens += static_cast<int64_t>(x.ids.size());
    }
    opt.step();
    opt.zero_grad();
  }
  st.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_RolloutSharedPrefill)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RolloutSeparatePrefills)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PolicyUpdateGrpo)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PolicyUpdateSftReference)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
