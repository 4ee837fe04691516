// Forward + backward throughput of the Gemma 4 graph (causal-LM loss, random weights, f32) in tokens/s, next to the
// rate its matrix products alone reach through cblas_sgemm in the same run. Run: build/bench_model.
//
// "GEMM-bound" time = every GEMM of one forward + backward step (each linear's x W^T, then g W and g^T x for its
// input and weight gradients, the tied head included) run directly through cblas_sgemm on buffers of the same
// shapes. The attention products are not GEMMs here (they run inside the fused attention op) and are left out, so
// the bound is an upper limit on what the step could reach if everything else were free.
// Counters: tokens_per_s (ours), gemm_bound_tokens_per_s, fraction (= ours / bound).
//
// Decoding (BM_*_decode/B): new tokens per second for B samples of one 64-token prompt decoding 32 tokens each
// with the KV cache (the prefill and the fork are outside the timed region).
// BM_tiny_sft_step is one SFT step of configs/tiny.json (the demo's model) on a synthesized plan sample of median
// length under configs/tiny-tokenizer.json: forward, the chunked head loss over the target tokens, backward and an
// Adafactor step. Counters: tokens (the sample's length), tokens_per_s, steps_per_10min.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "bench/bench_util.h"
#include "data/chat_format.h"
#include "data/synth.h"
#include "model/gemma4.h"
#include "model/kv_cache.h"
#include "model/sampler.h"
#include "optim/adafactor.h"

using namespace gt;
using json = nlohmann::ordered_json;

namespace {

struct Gemm {
  int64_t n, k;  // one linear: weight [n, k]
};

// Every linear of the model, in the order the forward runs them.
std::vector<Gemm> linears(const Gemma4Config& c) {
  std::vector<Gemm> g;
  const int64_t d = c.hidden_size, P = c.ple_dim, L = c.num_layers;
  if (P) g.push_back({L * P, d});
  for (const LayerConfig& lc : c.layers) {
    g.push_back({c.num_heads * lc.head_dim, d});
    if (!lc.kv_shared) g.insert(g.end(), {{lc.kv_heads * lc.head_dim, d}, {lc.kv_heads * lc.head_dim, d}});
    g.push_back({d, c.num_heads * lc.head_dim});
    g.insert(g.end(), {{lc.intermediate, d}, {lc.intermediate, d}, {d, lc.intermediate}});
    if (P) g.insert(g.end(), {{P, d}, {d, P}});
  }
  g.push_back({c.vocab_size, d});
  return g;
}

// Seconds for the forward and backward GEMMs of all linears at T tokens (best of `reps`).
double gemm_bound_seconds(const std::vector<Gemm>& gemms, int64_t T, int reps) {
  int64_t max_n = 1, max_k = 1;
  for (const Gemm& g : gemms) {
    max_n = std::max(max_n, g.n);
    max_k = std::max(max_k, g.k);
  }
  std::vector<float> x(static_cast<size_t>(T * max_k), 0.01f), w(static_cast<size_t>(max_n * max_k), 0.01f),
      y(static_cast<size_t>(T * max_n), 0.01f), dw(static_cast<size_t>(max_n * max_k));
  double best = 1e30;
  const bench::OpenBlasOnAllThreads reference;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const Gemm& g : gemms) {
      const int n = static_cast<int>(g.n), k = static_cast<int>(g.k), t = static_cast<int>(T);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, n, k, 1.f, x.data(), k, w.data(), k, 0.f, y.data(), n);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, k, n, 1.f, y.data(), n, w.data(), k, 0.f, x.data(), k);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, t, 1.f, y.data(), n, x.data(), k, 0.f, dw.data(), k);
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void run(benchmark::State& st, const json& cfg, int64_t T) {
  num_threads();  // apply the thread budget before the first GEMM
  const Gemma4Config c = parse_gemma4_config(cfg, "bench");
  Gemma4 m = Gemma4::random(c, 1, 0.02);
  std::vector<int64_t> v(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) v[static_cast<size_t>(t)] = (t * 7919 + 3) % c.vocab_size;
  const Tensor ids = Tensor::from_ids(v, {1, T});
  double seconds = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    m.state().zero_grad();
    Tensor loss = causal_lm_loss(m.logits(ids), ids);
    loss.backward();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double ours = static_cast<double>(T) * static_cast<double>(st.iterations()) / seconds;
  const double bound = static_cast<double>(T) / gemm_bound_seconds(linears(c), T, 3);
  st.counters["tokens_per_s"] = ours;
  st.counters["gemm_bound_tokens_per_s"] = bound;
  st.counters["fraction"] = ours / bound;
  st.counters["threads"] = num_threads();
}

json small_config() {
  return {{"model_type", "gemma4_text"}, {"vocab_size", 8192}, {"hidden_size", 256}, {"intermediate_size", 512},
          {"num_hidden_layers", 4}, {"num_attention_heads", 4}, {"num_key_value_heads", 1}, {"head_dim", 64},
          {"global_head_dim", 128},
          {"layer_types", {"sliding_attention", "full_attention", "sliding_attention", "full_attention"}},
          {"sliding_window", 64}, {"hidden_size_per_layer_input", 64}, {"vocab_size_per_layer_input", 8192},
          {"num_kv_shared_layers", 2}, {"use_double_wide_mlp", true}, {"final_logit_softcapping", 30.0}};
}

// One E2B layer (a full-attention one: transformers forces the last layer to be full): d 1536, 8 query heads of
// 512 over one KV head, MLP 6144, per-layer input 256. A 4096-token vocabulary keeps the head small.
json e2b_layer_config() {
  return {{"model_type", "gemma4_text"}, {"vocab_size", 4096}, {"hidden_size", 1536}, {"intermediate_size", 6144},
          {"num_hidden_layers", 1}, {"num_attention_heads", 8}, {"num_key_value_heads", 1}, {"head_dim", 256},
          {"global_head_dim", 512}, {"layer_types", {"full_attention"}}, {"sliding_window", 512},
          {"hidden_size_per_layer_input", 256}, {"vocab_size_per_layer_input", 4096},
          {"final_logit_softcapping", 30.0}};
}

void BM_small_model_fwd_bwd(benchmark::State& st) { run(st, small_config(), 256); }

void BM_tiny_sft_step(benchmark::State& st) {
  num_threads();
  const Gemma4Config c = load_gemma4_config(GT_CONFIGS "/tiny.json");
  const auto tok = data::Tokenizer::from_file(GT_CONFIGS "/tiny-tokenizer.json");
  data::synth::Options o;
  o.train = 101;
  o.heldout = 1;
  o.seed = 1;
  std::vector<data::EncodedChat> samples;
  for (const auto& s : data::synth::synthesize(o).train) samples.push_back(data::encode_plan_sample(tok, s, true));
  std::sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) { return a.ids.size() < b.ids.size(); });
  const data::EncodedChat& e = samples[samples.size() / 2];
  const auto T = static_cast<int64_t>(e.ids.size());
  std::vector<int64_t> ids(e.ids.begin(), e.ids.end()), labels(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) labels[i] = e.mask[i] ? ids[i] : -100;
  const Tensor input = Tensor::from_ids(ids, {1, T}), target = Tensor::from_ids(labels, {1, T});

  Gemma4 m = Gemma4::random(c, 1, 0.02);
  AdafactorOptions ao;
  ao.lr = 1e-3;
  Adafactor opt(m.state().trainable(), ao);
  double seconds = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    m.state().zero_grad();
    m.head_loss(m.hidden_states(input), next_token_targets(target)).backward();
    opt.step();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double per_step = seconds / static_cast<double>(st.iterations());
  st.counters["tokens"] = static_cast<double>(T);
  st.counters["tokens_per_s"] = static_cast<double>(T) / per_step;
  st.counters["steps_per_10min"] = 600.0 / per_step;
  st.counters["threads"] = num_threads();
}

void BM_e2b_layer_fwd_bwd(benchmark::State& st) { run(st, e2b_layer_config(), st.range(0)); }

void decode(benchmark::State& st, const json& cfg) {
  NoGradGuard ng;
  const Gemma4 model = Gemma4::random(parse_gemma4_config(cfg, "bench"), 1);
  const int64_t B = st.range(0), P = 64, steps = 32;
  std::vector<int64_t> prompt(static_cast<size_t>(P));
  for (int64_t i = 0; i < P; ++i) prompt[static_cast<size_t>(i)] = 3 + (i * 37) % 1000;
  for (auto _ : st) {
    st.PauseTiming();
    KVCache prefill;
    ForwardOptions fo;
    fo.cache = &prefill;
    model.hidden_states(Tensor::from_ids(prompt, {1, P}), fo);
    KVCache cache = prefill.fork(B);
    fo.cache = &cache;
    std::vector<int64_t> next(static_cast<size_t>(B), 5);
    st.ResumeTiming();
    for (int64_t s = 0; s < steps; ++s) {
      Tensor logits = model.head(model.hidden_states(Tensor::from_ids(next, {B, 1}), fo));
      const float* l = logits.data<float>();
      for (int64_t b = 0; b < B; ++b) next[static_cast<size_t>(b)] = argmax(l + b * model.config().vocab_size,
                                                                             model.config().vocab_size);
    }
  }
  st.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(B * steps * st.iterations()), benchmark::Counter::kIsRate);
}

void BM_small_model_decode(benchmark::State& st) { decode(st, small_config()); }
void BM_e2b_layer_decode(benchmark::State& st) { decode(st, e2b_layer_config()); }

}  // namespace

BENCHMARK(BM_small_model_decode)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_e2b_layer_decode)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_small_model_fwd_bwd)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_tiny_sft_step)->Unit(benchmark::kMillisecond)->MinTime(5.0);
BENCHMARK(BM_e2b_layer_fwd_bwd)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->MinTime(3.0);

BENCHMARK_MAIN();
