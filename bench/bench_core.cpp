// Core throughput: our matmul/linear next to cblas_sgemm called directly on the same buffers, at E2B shapes;
// RMSNorm throughput; the tape's cost per recorded op. Run: build/bench_core (--benchmark_filter=... to pick).
//
// The E2B MLP up-projection is x[1024 x 1536] @ W^T with W [6144 x 1536]. Its backward needs g[1024 x 6144] @ W
// (NoTrans x NoTrans) and g^T @ x (Trans x NoTrans). Each case runs through our op ("ours/...") and through
// cblas_sgemm ("cblas/...") on operands of the same layout; the ratio of the GFLOP/s counters is the wrapper's
// overhead.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <string>

#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "bench/bench_util.h"

using namespace gt;
using bench::random_tensor;

namespace {

constexpr int64_t T = 1024, D = 1536, I = 6144;

struct GemmCase {
  const char* name;
  bool trans_a, trans_b;
  int64_t m, n, k;
  bool as_linear;  // run through linear(x, W) (the model's op) instead of matmul
};

constexpr GemmCase kGemms[] = {
    {"linear_fwd", false, true, T, I, D, true},  // x @ W^T
    {"matmul_nn", false, false, T, I, D, false},  // [1024 x 1536] x [1536 x 6144]
    {"matmul_dx", false, false, T, D, I, false},  // g @ W
    {"matmul_dw", true, false, I, D, T, false},  // g^T @ x, the transpose passed as a view
};

// A rows x cols operand; a transposed one is stored [cols, rows] and viewed through transpose(), as backward sees
// it. Returns the view and the stored tensor (whose leading dimension BLAS gets).
std::pair<Tensor, Tensor> operand(int64_t rows, int64_t cols, bool trans, uint64_t seed) {
  Tensor stored = random_tensor(trans ? Shape{cols, rows} : Shape{rows, cols}, seed);
  return {trans ? stored.transpose(0, 1) : stored, stored};
}

void set_flops(benchmark::State& st, double flops_per_iter) {
  st.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iter * static_cast<double>(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void gemm_ours(benchmark::State& st, GemmCase c) {
  NoGradGuard ng;
  auto [a, as] = operand(c.m, c.k, c.trans_a, 1);
  auto [b, bs] = operand(c.k, c.n, c.trans_b, 2);
  for (auto _ : st) benchmark::DoNotOptimize((c.as_linear ? linear(a, bs) : matmul(a, b)).raw());
  set_flops(st, 2.0 * c.m * c.n * c.k);
}

void gemm_cblas(benchmark::State& st, GemmCase c) {
  auto [a, as] = operand(c.m, c.k, c.trans_a, 1);
  auto [b, bs] = operand(c.k, c.n, c.trans_b, 2);
  Tensor out = Tensor::empty({c.m, c.n});
  const bench::OpenBlasOnAllThreads reference;
  for (auto _ : st)
    cblas_sgemm(CblasRowMajor, c.trans_a ? CblasTrans : CblasNoTrans, c.trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(c.m), static_cast<int>(c.n), static_cast<int>(c.k), 1.f, as.data<float>(),
                static_cast<int>(as.size(1)), bs.data<float>(), static_cast<int>(bs.size(1)), 0.f, out.data<float>(),
                static_cast<int>(c.n));
  set_flops(st, 2.0 * c.m * c.n * c.k);
}

// A whole linear layer through the tape (forward, then backward for x and W: 3 GEMMs) against the same three
// GEMMs called directly.
void linear_train_ours(benchmark::State& st) {
  Tensor x = random_tensor({T, D}, 1), w = random_tensor({I, D}, 2), g = random_tensor({T, I}, 5);
  x.requires_grad_();
  w.requires_grad_();
  for (auto _ : st) {
    x.zero_grad();
    w.zero_grad();
    linear(x, w).backward(g);
  }
  set_flops(st, 3 * 2.0 * T * I * D);
}

void linear_train_cblas(benchmark::State& st) {
  Tensor x = random_tensor({T, D}, 1), w = random_tensor({I, D}, 2), g = random_tensor({T, I}, 5);
  Tensor y = Tensor::empty({T, I}), gx = Tensor::empty({T, D}), gw = Tensor::empty({I, D});
  const bench::OpenBlasOnAllThreads reference;
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, I, D, 1.f, x.data<float>(), D, w.data<float>(), D, 0.f,
                y.data<float>(), I);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, I, 1.f, g.data<float>(), I, w.data<float>(), D, 0.f,
                gx.data<float>(), D);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, D, T, 1.f, g.data<float>(), I, x.data<float>(), D, 0.f,
                gw.data<float>(), D);
  }
  set_flops(st, 3 * 2.0 * T * I * D);
}

// RMSNorm over the residual stream [1024 x 1536] with a weight: bytes moved per second (forward reads x, writes
// y; forward + backward also reads x and g again and writes dx).
void rms_norm_fwd(benchmark::State& st) {
  NoGradGuard ng;
  Tensor x = random_tensor({T, D}, 6), w = random_tensor({D}, 7);
  for (auto _ : st) benchmark::DoNotOptimize(rms_norm(x, w, 1e-6).raw());
  st.counters["GB/s"] =
      benchmark::Counter(2.0 * T * D * 4 * static_cast<double>(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void rms_norm_fwd_bwd(benchmark::State& st) {
  Tensor x = random_tensor({T, D}, 6), w = random_tensor({D}, 7), g = random_tensor({T, D}, 8);
  x.requires_grad_();
  w.requires_grad_();
  for (auto _ : st) {
    x.zero_grad();
    w.zero_grad();
    rms_norm(x, w, 1e-6).backward(g);
  }
  st.counters["GB/s"] =
      benchmark::Counter(5.0 * T * D * 4 * static_cast<double>(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// The tape's own cost: a chain of 1000 ops on a 1-element tensor, so the arithmetic is negligible and the time is
// bookkeeping (allocation, node, closure, engine). With recording on it includes the backward; off, forward only.
void tape_per_op(benchmark::State& st, bool record) {
  const int64_t n = 1000;
  Tensor x = Tensor::ones({1});
  x.requires_grad_(record);
  for (auto _ : st) {
    Tensor y = x;
    for (int64_t i = 0; i < n; ++i) y = scale(y, 1.0);
    if (record) {
      y.backward();
      x.zero_grad();
    }
    benchmark::DoNotOptimize(y.raw());
  }
  // Seconds per op, printed with an SI prefix (740n = 740 ns).
  st.counters["s/op"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                                      benchmark::Counter::kInvert);
}

}  // namespace

int main(int argc, char** argv) {
  for (const GemmCase& c : kGemms) {
    benchmark::RegisterBenchmark((std::string("ours/") + c.name).c_str(), gemm_ours, c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("cblas/") + c.name).c_str(), gemm_cblas, c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("ours/linear_train", linear_train_ours)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("cblas/linear_train", linear_train_cblas)->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("rms_norm/fwd", rms_norm_fwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("rms_norm/fwd_bwd", rms_norm_fwd_bwd)->Unit(benchmark::kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("tape/recorded_fwd_bwd", tape_per_op, true)->Unit(benchmark::kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("tape/unrecorded_fwd", tape_per_op, false)->Unit(benchmark::kMicrosecond)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
