// SFT with and without packing: one epoch over 96 synthesized plan samples of mixed lengths (the demo's data,
// tokenized with configs/tiny-tokenizer.json), on configs/tiny.json with random f32 weights; each step is forward,
// the target-only loss, backward, Adafactor and zero_grad, as in training. Run: build/bench_sft_packing.
//
// Layouts (argument): 0 one sample a step (the default batch_size 1), 1 four samples a step padded to the longest
// (batch_size 4), 2 and 3 packed best-fit decreasing into sequences of max_length 1024 and 2048, one a step (a
// sample itself stays under tiny.json's 1024 positions: positions restart in each).
// Counters: tokens_per_s (real tokens, padding not counted, over wall time), tokens_per_cpu_s (over the process's
// CPU time, all threads: steadier than wall time on a shared machine), steps (an epoch's), padding (the share of
// the forwards' positions that are padding).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

#include "autograd/parallel.h"
#include "data/chat_format.h"
#include "data/synth.h"
#include "data/tokenizer.h"
#include "model/gemma4.h"
#include "optim/adafactor.h"
#include "train/sft.h"
#include "train/sft_packing.h"

using namespace gt;

namespace {

constexpr int64_t kSamples = 96;

std::vector<train::TokenizedSample> synth_samples() {
  const data::Tokenizer tok = data::Tokenizer::from_file(GT_CONFIGS "/tiny-tokenizer.json");
  std::vector<train::TokenizedSample> out;
  for (const data::PlanSample& p : data::synth::synthesize({.train = kSamples, .heldout = 0, .seed = 11}).train) {
    data::EncodedChat e = data::encode_plan_sample(tok, p, true);
    train::TokenizedSample s;
    s.id = p.id;
    s.first_trainable = std::find(e.mask.begin(), e.mask.end(), uint8_t{1}) - e.mask.begin();
    s.trainable = std::count(e.mask.begin(), e.mask.end(), uint8_t{1});
    s.ids = std::move(e.ids);
    s.mask = std::move(e.mask);
    out.push_back(std::move(s));
  }
  return out;
}

// The epoch's forwards: rows of samples (one sample a row unless packed), `per_step` rows a forward.
std::vector<std::vector<std::vector<const train::TokenizedSample*>>> epoch(
    const std::vector<train::TokenizedSample>& samples, int64_t layout) {
  const std::vector<train::PackedSequence> seqs =
      layout >= 2 ? train::pack_bfd(samples, layout == 2 ? 1024 : 2048) : train::one_per_sequence(samples);
  const size_t per_step = layout == 1 ? 4 : 1;
  std::vector<std::vector<std::vector<const train::TokenizedSample*>>> steps;
  for (size_t i = 0; i < seqs.size(); i += per_step) {
    auto& step = steps.emplace_back();
    for (size_t j = i; j < std::min(seqs.size(), i + per_step); ++j) {
      auto& row = step.emplace_back();
      for (int64_t k : seqs[j].samples) row.push_back(&samples[static_cast<size_t>(k)]);
    }
  }
  return steps;
}

void BM_sft_epoch(benchmark::State& st) {
  num_threads();  // apply the thread budget before the first GEMM
  static const std::vector<train::TokenizedSample> samples = synth_samples();
  Gemma4 m = Gemma4::random(load_gemma4_config(GT_CONFIGS "/tiny.json"), 1, 0.02);
  Adafactor opt(m.state().trainable());
  const auto steps = epoch(samples, st.range(0));
  int64_t tokens = 0, positions = 0;
  for (const auto& step : steps) {
    size_t longest = 0;
    for (const auto& row : step) {
      size_t n = 0;
      for (const train::TokenizedSample* s : row) n += s->ids.size();
      tokens += static_cast<int64_t>(n);
      longest = std::max(longest, n);
    }
    positions += static_cast<int64_t>(longest * step.size());
  }
  double seconds = 0, cpu_seconds = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    for (const auto& step : steps) {
      double denominator = 0;
      for (const auto& row : step)
        for (const train::TokenizedSample* s : row) denominator += static_cast<double>(s->trainable);
      train::packed_loss(m, step, ForwardOptions{}, denominator).backward();
      opt.step();
      opt.zero_grad();
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu_seconds += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  }
  const double all = static_cast<double>(tokens) * static_cast<double>(st.iterations());
  st.counters["tokens_per_s"] = all / seconds;
  st.counters["tokens_per_cpu_s"] = all / cpu_seconds;
  st.counters["steps"] = static_cast<double>(steps.size());
  st.counters["padding"] = 1.0 - static_cast<double>(tokens) / static_cast<double>(positions);
  st.counters["threads"] = num_threads();
}

}  // namespace

BENCHMARK(BM_sft_epoch)->DenseRange(0, 3)->ArgName("layout")->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
