// Fused attention at E2B shapes: B=1, T=S=1024, 8 query heads on 1 kv head (MQA).
//   sliding layers: D=256, causal window 512;  full layers: D=512, causal.
// Run: build/bench_attention (add --benchmark_filter=... to pick).
//
// GFLOP/s counts only the score pairs inside the visible band (sum over rows of the keys a row sees, times Hq):
// forward 2 products (QK^T, PV), backward 5 (QK^T recomputed, dO V^T, P^T dO, dS K, dS^T Q), as FlashAttention
// counts them. The masked triangles the tiles still touch are not counted, so the figure is the useful rate.
// BM_eigen_tile_gemm is one single-threaded product of the size the kernel's tiles run, as a per-core ceiling.
#include <benchmark/benchmark.h>

// GCC 12 false positives in Eigen 3.4's AVX-512 packets, as in autograd/ops/attention.cpp.
#if !defined(__clang__)  // clang has no such warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <random>

#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "bench/bench_util.h"

using namespace gt;

namespace {

using bench::random_tensor;

constexpr int64_t B = 1, T = 1024, Hq = 8, Hkv = 1;

struct Layer {
  int64_t d;
  int64_t window;
};
// Arg 0: the sliding layer, arg 1: the full layer.
Layer layer(int64_t arg) { return arg == 0 ? Layer{256, 512} : Layer{512, 0}; }

double visible_pairs(const Layer& l) {
  double n = 0;
  for (int64_t t = 0; t < T; ++t) n += static_cast<double>(l.window > 0 ? std::min(t + 1, l.window) : t + 1);
  return n * Hq;
}

void set_counters(benchmark::State& st, double flops_per_iter) {
  const double it = static_cast<double>(st.iterations());
  st.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * it / 1e9, benchmark::Counter::kIsRate);
  st.counters["tokens/s"] = benchmark::Counter(static_cast<double>(B * T) * it, benchmark::Counter::kIsRate);
}

void BM_attention_fwd(benchmark::State& st) {
  const Layer l = layer(st.range(0));
  NoGradGuard ng;
  Tensor q = random_tensor({B, T, Hq, l.d}, 1), k = random_tensor({B, T, Hkv, l.d}, 2), v = random_tensor({B, T, Hkv, l.d}, 3);
  AttentionOptions opt;
  opt.window = l.window;
  for (auto _ : st) benchmark::DoNotOptimize(attention(q, k, v, opt).raw());
  set_counters(st, visible_pairs(l) * 2 * 2.0 * static_cast<double>(l.d));
  st.SetLabel(l.window > 0 ? "D=256 window 512" : "D=512 causal");
}

void BM_attention_fwd_bwd(benchmark::State& st) {
  const Layer l = layer(st.range(0));
  Tensor q = random_tensor({B, T, Hq, l.d}, 1), k = random_tensor({B, T, Hkv, l.d}, 2), v = random_tensor({B, T, Hkv, l.d}, 3);
  const Tensor g = random_tensor({B, T, Hq, l.d}, 4);
  for (Tensor* t : {&q, &k, &v}) t->requires_grad_();
  AttentionOptions opt;
  opt.window = l.window;
  for (auto _ : st) {
    for (Tensor* t : {&q, &k, &v}) t->zero_grad();
    attention(q, k, v, opt).backward(g);
  }
  set_counters(st, visible_pairs(l) * 7 * 2.0 * static_cast<double>(l.d));
  st.SetLabel(l.window > 0 ? "D=256 window 512" : "D=512 causal");
}

// One tile's score product, [128 x D] x [D x 512], on one thread.
void BM_eigen_tile_gemm(benchmark::State& st) {
  const int64_t d = st.range(0), m = 128, n = 512;
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMat a = RowMat::Random(m, d), b = RowMat::Random(n, d), c(m, n);
  for (auto _ : st) {
    c.noalias() = a * b.transpose();
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * n * d * st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_attention_fwd)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_attention_fwd_bwd)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_eigen_tile_gemm)->Arg(256)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
