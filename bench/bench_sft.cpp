// SFT training throughput: one optimizer step (forward, the target-only chunked loss, backward, Adafactor with the
// published defaults, zero_grad) on random f32 weights, in tokens/s of the whole sequence. Run: build/bench_sft.
//
// The sequence is T tokens of which the last 30% are the target (the share of a plan sample's tokens that are the
// model's own), so the head runs on 0.3 T positions as in training. GT_BENCH_SFT_CONFIG=path/config.json adds a
// run on that config at 512 tokens (e.g. configs/tiny.json).
// Counters: tokens_per_s, optimizer_ms (the Adafactor step alone), threads.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <vector>

#include "autograd/parallel.h"
#include "model/gemma4.h"
#include "optim/adafactor.h"
#include "train/sft.h"

using namespace gt;
using json = nlohmann::ordered_json;

namespace {

train::TokenizedSample make_sample(int64_t T, int64_t vocab) {
  train::TokenizedSample s;
  s.id = "bench";
  s.first_trainable = T - (3 * T) / 10;
  for (int64_t t = 0; t < T; ++t) {
    s.ids.push_back(t == 0 ? 2 : static_cast<int32_t>((t * 7919 + 3) % vocab));
    s.mask.push_back(t >= s.first_trainable ? 1 : 0);
  }
  s.trainable = T - s.first_trainable;
  return s;
}

void run(benchmark::State& st, const Gemma4Config& c, int64_t T, bool checkpoint_layers) {
  num_threads();  // apply the thread budget before the first GEMM
  Gemma4 m = Gemma4::random(c, 1, 0.02);
  Adafactor opt(m.state().trainable());
  const train::TokenizedSample s = make_sample(T, c.vocab_size);
  ForwardOptions fo;
  fo.checkpoint_layers = checkpoint_layers;
  double seconds = 0, opt_seconds = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    train::sample_loss(m, s, fo, static_cast<double>(s.trainable)).backward();
    const auto t1 = std::chrono::steady_clock::now();
    opt.step();
    opt.zero_grad();
    const auto t2 = std::chrono::steady_clock::now();
    seconds += std::chrono::duration<double>(t2 - t0).count();
    opt_seconds += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = static_cast<double>(st.iterations());
  st.counters["tokens_per_s"] = static_cast<double>(T) * n / seconds;
  st.counters["optimizer_ms"] = 1e3 * opt_seconds / n;
  st.counters["threads"] = num_threads();
}

// Gemma-4-shaped with every feature on (sliding and full layers, KV sharing, double-wide MLP, per-layer inputs,
// softcap) at a size this CPU trains in minutes.
json tiny_config() {
  return {{"model_type", "gemma4_text"},
          {"vocab_size", 4096},
          {"hidden_size", 256},
          {"intermediate_size", 512},
          {"num_hidden_layers", 4},
          {"num_attention_heads", 4},
          {"num_key_value_heads", 1},
          {"head_dim", 64},
          {"global_head_dim", 128},
          {"layer_types", {"sliding_attention", "full_attention", "sliding_attention", "full_attention"}},
          {"sliding_window", 128},
          {"hidden_size_per_layer_input", 64},
          {"vocab_size_per_layer_input", 4096},
          {"num_kv_shared_layers", 2},
          {"use_double_wide_mlp", true},
          {"final_logit_softcapping", 30.0}};
}

// One E2B layer: d 1536, 8 query heads of 256 over one KV head (MQA), MLP 6144, per-layer input 256. A lone
// layer is a full-attention one (transformers forces the last layer to be full), so global_head_dim is set to the
// sliding layers' 256; at 512 tokens that is what a sliding layer of window 512 computes. A 4096-token vocabulary
// keeps the head from dominating.
json e2b_layer_config() {
  return {{"model_type", "gemma4_text"},
          {"vocab_size", 4096},
          {"hidden_size", 1536},
          {"intermediate_size", 6144},
          {"num_hidden_layers", 1},
          {"num_attention_heads", 8},
          {"num_key_value_heads", 1},
          {"head_dim", 256},
          {"global_head_dim", 256},
          {"sliding_window", 512},
          {"hidden_size_per_layer_input", 256},
          {"vocab_size_per_layer_input", 4096},
          {"final_logit_softcapping", 30.0}};
}

void BM_sft_step_tiny(benchmark::State& st) { run(st, parse_gemma4_config(tiny_config(), "tiny"), st.range(0), false); }
void BM_sft_step_e2b_layer(benchmark::State& st) {
  run(st, parse_gemma4_config(e2b_layer_config(), "e2b_layer"), st.range(0), st.range(1) != 0);
}
void BM_sft_step_config_file(benchmark::State& st) {
  run(st, load_gemma4_config(std::getenv("GT_BENCH_SFT_CONFIG")), 512, false);
}

}  // namespace

BENCHMARK(BM_sft_step_tiny)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->MinTime(2.0);
// Second argument: per-layer checkpointing (recompute in backward), as the E2B memory plan needs.
BENCHMARK(BM_sft_step_e2b_layer)
    ->Args({512, 0})
    ->Args({1024, 0})
    ->Args({1024, 1})
    ->ArgNames({"tokens", "checkpoint"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3.0);

int main(int argc, char** argv) {
  if (std::getenv("GT_BENCH_SFT_CONFIG"))
    benchmark::RegisterBenchmark("BM_sft_step_config_file/512", BM_sft_step_config_file)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
