// The GPU at the real E2B shape (random bf16 weights, 4.63 B parameters): one SFT step at batch 1 (forward, loss
// over every position, backward, Adafactor at lr 2e-5 with fp32 master weights, zero_grad) and greedy decoding at
// batch 1 and 4 after a 512-token prompt. bench/torch_e2b.py measures PyTorch + transformers the same way on the
// same machine. Run: build/bench_cuda (skips without a GPU).
//
// masters:1 keeps fp32 master weights, masters:0 updates the bf16 weights in place with stochastic rounding.
// Counters: step/forward/backward/optimizer in ms (the device is synchronised between phases), optimizer_floor_ms
// (the bytes the optimizer moves over the HBM's 3.35 TB/s), tokens_per_s,
// mfu (model FLOPs: 6 x matmul parameters x tokens + the attention products, fwd 1x + bwd 2x, over the H100's
// 989 TFLOP/s dense bf16 peak), peak_gb (the most device memory held by tensors, GB = 1e9 bytes).
#include <benchmark/benchmark.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "autograd/cuda/runtime.h"
#include "model/gemma4.h"
#include "optim/adafactor.h"
#include "train/sft.h"

using namespace gt;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kPeakFlops = 989e12;
constexpr double kPeakBytesPerS = 3.35e12;  // H100 SXM HBM3

// docs/model.md §1: 35 layers, 4 sliding : 1 full, KV shared from layer 15, double-wide MLP there.
Gemma4Config e2b() {
  json types = json::array();
  for (int i = 0; i < 35; ++i) types.push_back(i % 5 == 4 ? "full_attention" : "sliding_attention");
  return parse_gemma4_config(
      {{"model_type", "gemma4_text"},     {"vocab_size", 262144},          {"hidden_size", 1536},
       {"intermediate_size", 6144},       {"num_hidden_layers", 35},       {"num_attention_heads", 8},
       {"num_key_value_heads", 1},        {"head_dim", 256},               {"global_head_dim", 512},
       {"layer_types", types},            {"sliding_window", 512},         {"hidden_size_per_layer_input", 256},
       {"vocab_size_per_layer_input", 262144}, {"num_kv_shared_layers", 20}, {"use_double_wide_mlp", true},
       {"final_logit_softcapping", 30.0}},
      "e2b");
}

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// 6 x (matmul weights, the tied head once) x T, plus QK^T and PV over the visible keys (x3 for fwd + bwd).
double step_flops(const Gemma4& m, int64_t T) {
  double matmul = 0;
  for (const auto& [name, t] : m.state().items())
    if (t.dim() == 2 && name != "embed_tokens_per_layer.weight") matmul += static_cast<double>(t.numel());
  const Gemma4Config& c = m.config();
  double attn = 0;
  for (const LayerConfig& l : c.layers) {
    double keys = 0;
    for (int64_t t = 0; t < T; ++t)
      keys += static_cast<double>(l.type == LayerType::Sliding ? std::min<int64_t>(t + 1, c.sliding_window) : t + 1);
    attn += 4.0 * static_cast<double>(c.num_heads * l.head_dim) * keys;
  }
  return 6.0 * matmul * static_cast<double>(T) + 3.0 * attn;
}

// The bytes Adafactor's step must move (optim/cuda/adafactor.cu): per element with a gradient, the f32 gradient
// read four times (row sums, column sums, row factors, update) and the weight read and written: the f32 master and
// its bf16 rounding, or the bf16 weight alone. The row-sparse per-layer table has T rows with a gradient. The
// statistics (a row and a column per matrix) are left out: under 0.1% of it.
double optimizer_bytes(const Gemma4& m, int64_t T, bool masters) {
  const double per = 16.0 + (masters ? 4.0 + 4.0 + 2.0 : 2.0 + 2.0);
  double elements = 0;
  for (const auto& [name, t] : m.state().items())
    elements += name == "embed_tokens_per_layer.weight" ? static_cast<double>(T * t.size(1))
                                                        : static_cast<double>(t.numel());
  return per * elements;
}

Gemma4& model() {
  static Gemma4 m = Gemma4::random(e2b(), 1, 0.02, Device::CUDA, DType::BF16);
  return m;
}

void BM_cuda_sft_step_e2b(benchmark::State& st) {
  if (!cuda::available()) {
    st.SkipWithError("no CUDA device visible");
    return;
  }
  const int64_t T = st.range(0);
  const bool masters = st.range(1) != 0;
  Gemma4& m = model();
  AdafactorOptions o;  // lr 2e-5, no relative step, no parameter scaling: the Trainer's optim="adafactor"
  o.precision.master_weights = masters;  // without: bf16 weights updated in place, stochastically rounded
  if (!masters) o.precision.rounding = Rounding::Stochastic;
  Adafactor opt(m.state().trainable(), o);
  train::TokenizedSample s;
  s.id = "bench";
  for (int64_t t = 0; t < T; ++t) {
    s.ids.push_back(t == 0 ? 2 : static_cast<int32_t>((t * 7919 + 3) % 262144));
    s.mask.push_back(t == 0 ? 0 : 1);
  }
  s.first_trainable = 1;
  s.trainable = T - 1;
  auto step = [&](double* f, double* b, double* u) {
    const auto t0 = Clock::now();
    Tensor loss = train::sample_loss(m, s, ForwardOptions{}, static_cast<double>(s.trainable));
    cuda::synchronize();
    const auto t1 = Clock::now();
    loss.backward();
    cuda::synchronize();
    const auto t2 = Clock::now();
    opt.step();
    opt.zero_grad();
    cuda::synchronize();
    const auto t3 = Clock::now();
    *f += seconds(t0, t1), *b += seconds(t1, t2), *u += seconds(t2, t3);
  };
  double f = 0, b = 0, u = 0;
  step(&f, &b, &u);  // creates the optimizer state and the GEMM plans
  cuda::reset_peak();
  f = b = u = 0;
  for (auto _ : st) {
    double ff = 0, bb = 0, uu = 0;
    step(&ff, &bb, &uu);
    st.SetIterationTime(ff + bb + uu);
    f += ff, b += bb, u += uu;
  }
  const double n = static_cast<double>(st.iterations()), total = (f + b + u) / n;
  st.counters["step_ms"] = 1e3 * total;
  st.counters["forward_ms"] = 1e3 * f / n;
  st.counters["backward_ms"] = 1e3 * b / n;
  st.counters["optimizer_ms"] = 1e3 * u / n;
  st.counters["optimizer_floor_ms"] = 1e3 * optimizer_bytes(m, T, masters) / kPeakBytesPerS;
  st.counters["tokens_per_s"] = static_cast<double>(T) / total;
  st.counters["mfu"] = step_flops(m, T) / total / kPeakFlops;
  st.counters["peak_gb"] = static_cast<double>(cuda::memory_stats().peak_in_use) / 1e9;
}

void BM_cuda_decode_e2b(benchmark::State& st) {
  if (!cuda::available()) {
    st.SkipWithError("no CUDA device visible");
    return;
  }
  NoGradGuard ng;
  Gemma4& m = model();
  const int64_t B = st.range(0), P = 512, steps = 32, V = m.config().vocab_size;
  std::vector<int64_t> prompt(static_cast<size_t>(P));
  for (int64_t i = 0; i < P; ++i) prompt[static_cast<size_t>(i)] = 3 + (i * 37) % 100000;
  double decode_s = 0;
  for (auto _ : st) {
    KVCache prefill;
    ForwardOptions fo;
    fo.cache = &prefill;
    m.hidden_states(Tensor::from_ids(prompt, {1, P}), fo);
    KVCache cache = prefill.fork(B);
    fo.cache = &cache;
    std::vector<int64_t> next(static_cast<size_t>(B), 5);
    cuda::synchronize();
    const auto t0 = Clock::now();
    for (int64_t s = 0; s < steps; ++s) {
      // Greedy choice on the host, as generate() does: the [B, V] logits come over each step.
      const Tensor logits = dense_f32(m.head(m.hidden_states(Tensor::from_ids(next, {B, 1}), fo)).to(Device::CPU));
      const float* l = logits.data<float>();
      for (int64_t b = 0; b < B; ++b)
        next[static_cast<size_t>(b)] = std::max_element(l + b * V, l + (b + 1) * V) - (l + b * V);
    }
    const double t = seconds(t0, Clock::now());
    st.SetIterationTime(t);
    decode_s += t;
  }
  st.counters["tokens_per_s"] = static_cast<double>(B * steps * st.iterations()) / decode_s;
  st.counters["ms_per_step"] = 1e3 * decode_s / static_cast<double>(steps * st.iterations());
}

}  // namespace

BENCHMARK(BM_cuda_sft_step_e2b)->ArgsProduct({{512, 1024}, {1, 0}})->ArgNames({"tokens", "masters"})
    ->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(5);
BENCHMARK(BM_cuda_decode_e2b)->Arg(1)->Arg(4)->ArgName("batch")->Unit(benchmark::kMillisecond)->UseManualTime()
    ->Iterations(2);

BENCHMARK_MAIN();
