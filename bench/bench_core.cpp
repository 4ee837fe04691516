// Core throughput: our matmul/linear wrappers next to cblas_sgemm called directly, at E2B shapes, and the tape's
// cost per recorded op. Run: build/bench_core (add --benchmark_filter=... to pick).
//
// The E2B MLP up-projection is x[1024 x 1536] @ W^T with W [6144 x 1536]. Backward needs g[1024 x 6144] @ W
// (NoTrans x NoTrans) and g^T @ x (Trans x NoTrans). Each case runs through our op and through cblas_sgemm on the
// same buffers; the ratio of the two GFLOP/s counters is the wrapper's overhead.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <random>

#include "autograd/ops.h"
#include "autograd/parallel.h"

using namespace gt;

namespace {

Tensor random(const Shape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector(v, s);
}

constexpr int64_t T = 1024, D = 1536, I = 6144;

void set_flops(benchmark::State& st, double m, double n, double k) {
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * m * n * k * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

// Forward: linear(x, W) = x @ W^T.
void BM_linear_fwd_ours(benchmark::State& st) {
  NoGradGuard ng;
  Tensor x = random({T, D}, 1), w = random({I, D}, 2);
  for (auto _ : st) benchmark::DoNotOptimize(linear(x, w).raw());
  set_flops(st, T, I, D);
}
void BM_linear_fwd_cblas(benchmark::State& st) {
  Tensor x = random({T, D}, 1), w = random({I, D}, 2), y = Tensor::empty({T, I});
  num_threads();
  for (auto _ : st)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, I, D, 1.f, x.data<float>(), D, w.data<float>(), D, 0.f,
                y.data<float>(), I);
  set_flops(st, T, I, D);
}

// [1024 x 1536] x [1536 x 6144] with a contiguous right operand.
void BM_matmul_nn_ours(benchmark::State& st) {
  NoGradGuard ng;
  Tensor a = random({T, D}, 3), b = random({D, I}, 4);
  for (auto _ : st) benchmark::DoNotOptimize(matmul(a, b).raw());
  set_flops(st, T, I, D);
}
void BM_matmul_nn_cblas(benchmark::State& st) {
  Tensor a = random({T, D}, 3), b = random({D, I}, 4), c = Tensor::empty({T, I});
  num_threads();
  for (auto _ : st)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, I, D, 1.f, a.data<float>(), D, b.data<float>(), I, 0.f,
                c.data<float>(), I);
  set_flops(st, T, I, D);
}

// Backward, input gradient: g [1024 x 6144] @ W [6144 x 1536].
void BM_matmul_dx_ours(benchmark::State& st) {
  NoGradGuard ng;
  Tensor g = random({T, I}, 5), w = random({I, D}, 2);
  for (auto _ : st) benchmark::DoNotOptimize(matmul(g, w).raw());
  set_flops(st, T, D, I);
}
void BM_matmul_dx_cblas(benchmark::State& st) {
  Tensor g = random({T, I}, 5), w = random({I, D}, 2), c = Tensor::empty({T, D});
  num_threads();
  for (auto _ : st)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, I, 1.f, g.data<float>(), I, w.data<float>(), D, 0.f,
                c.data<float>(), D);
  set_flops(st, T, D, I);
}

// Backward, weight gradient: g^T [6144 x 1024] @ x [1024 x 1536], the transpose passed as a view (no copy).
void BM_matmul_dw_ours(benchmark::State& st) {
  NoGradGuard ng;
  Tensor g = random({T, I}, 5), x = random({T, D}, 1);
  for (auto _ : st) benchmark::DoNotOptimize(matmul(g.transpose(0, 1), x).raw());
  set_flops(st, I, D, T);
}
void BM_matmul_dw_cblas(benchmark::State& st) {
  Tensor g = random({T, I}, 5), x = random({T, D}, 1), c = Tensor::empty({I, D});
  num_threads();
  for (auto _ : st)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, D, T, 1.f, g.data<float>(), I, x.data<float>(), D, 0.f,
                c.data<float>(), D);
  set_flops(st, I, D, T);
}

// Full linear forward + backward through the tape (3 GEMMs) against the 3 direct GEMMs.
void BM_linear_fwd_bwd_ours(benchmark::State& st) {
  Tensor x = random({T, D}, 1), w = random({I, D}, 2), g = random({T, I}, 5);
  x.requires_grad_();
  w.requires_grad_();
  for (auto _ : st) {
    x.zero_grad();
    w.zero_grad();
    linear(x, w).backward(g);
  }
  set_flops(st, 3.0 * T, I, D);
}
void BM_linear_fwd_bwd_cblas(benchmark::State& st) {
  Tensor x = random({T, D}, 1), w = random({I, D}, 2), g = random({T, I}, 5);
  Tensor y = Tensor::empty({T, I}), gx = Tensor::empty({T, D}), gw = Tensor::empty({I, D});
  num_threads();
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, I, D, 1.f, x.data<float>(), D, w.data<float>(), D, 0.f,
                y.data<float>(), I);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, I, 1.f, g.data<float>(), I, w.data<float>(), D, 0.f,
                gx.data<float>(), D);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, D, T, 1.f, g.data<float>(), I, x.data<float>(), D, 0.f,
                gw.data<float>(), D);
  }
  set_flops(st, 3.0 * T, I, D);
}

// RMSNorm over the residual stream [1024 x 1536] with a weight: bytes moved per second (read x, write y; backward
// reads x and g, writes dx).
void BM_rms_norm_fwd(benchmark::State& st) {
  NoGradGuard ng;
  Tensor x = random({T, D}, 6), w = random({D}, 7);
  for (auto _ : st) benchmark::DoNotOptimize(rms_norm(x, w, 1e-6).raw());
  st.counters["GB/s"] = benchmark::Counter(2.0 * T * D * 4 * static_cast<double>(st.iterations()) / 1e9,
                                           benchmark::Counter::kIsRate);
}
void BM_rms_norm_fwd_bwd(benchmark::State& st) {
  Tensor x = random({T, D}, 6), w = random({D}, 7), g = random({T, D}, 8);
  x.requires_grad_();
  w.requires_grad_();
  for (auto _ : st) {
    x.zero_grad();
    w.zero_grad();
    rms_norm(x, w, 1e-6).backward(g);
  }
  st.counters["GB/s"] = benchmark::Counter(5.0 * T * D * 4 * static_cast<double>(st.iterations()) / 1e9,
                                           benchmark::Counter::kIsRate);
}

// The tape's own cost: a chain of N ops on a 1-element tensor, recorded and backpropagated, minus nothing: with
// one element the arithmetic is negligible, so time per op is bookkeeping (allocation, node, closure, engine).
void BM_tape_per_op(benchmark::State& st) {
  const int64_t n = st.range(0);
  Tensor x = Tensor::ones({1});
  x.requires_grad_();
  for (auto _ : st) {
    Tensor y = x;
    for (int64_t i = 0; i < n; ++i) y = scale(y, 1.0);
    y.backward();
    x.zero_grad();
  }
  st.counters["ns/op(fwd+bwd)"] =
      benchmark::Counter(static_cast<double>(st.iterations() * n), benchmark::Counter::kIsRate |
                                                                       benchmark::Counter::kInvert);
}
void BM_untaped_per_op(benchmark::State& st) {
  const int64_t n = st.range(0);
  Tensor x = Tensor::ones({1});
  NoGradGuard ng;
  for (auto _ : st) {
    Tensor y = x;
    for (int64_t i = 0; i < n; ++i) y = scale(y, 1.0);
    benchmark::DoNotOptimize(y.raw());
  }
  st.counters["ns/op(fwd)"] =
      benchmark::Counter(static_cast<double>(st.iterations() * n), benchmark::Counter::kIsRate |
                                                                       benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(BM_linear_fwd_ours)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_linear_fwd_cblas)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_matmul_nn_ours)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_matmul_nn_cblas)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_matmul_dx_ours)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_matmul_dx_cblas)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_matmul_dw_ours)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_matmul_dw_cblas)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_linear_fwd_bwd_ours)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_linear_fwd_bwd_cblas)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_rms_norm_fwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_rms_norm_fwd_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_tape_per_op)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_untaped_per_op)->Arg(1000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_MAIN();
