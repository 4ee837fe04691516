#pragma once
// Shared by the benchmark programs.
#include <cblas.h>

#include <random>
#include <vector>

#include "autograd/parallel.h"
#include "autograd/tensor.h"

namespace gt::bench {

inline Tensor random_tensor(const Shape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector(v, s);
}

// The reference rate is OpenBLAS's own threaded GEMM on the same thread budget. Our sgemm keeps OpenBLAS on one
// thread and spreads fixed tiles itself (autograd/blas.cpp), so a reference measurement lends OpenBLAS the pool
// for its duration.
struct OpenBlasOnAllThreads {
  OpenBlasOnAllThreads() { openblas_set_num_threads(num_threads()); }
  ~OpenBlasOnAllThreads() { openblas_set_num_threads(1); }
  OpenBlasOnAllThreads(const OpenBlasOnAllThreads&) = delete;
  OpenBlasOnAllThreads& operator=(const OpenBlasOnAllThreads&) = delete;
};

}  // namespace gt::bench
