#pragma once
// Shared by the benchmark programs.
#include <random>
#include <vector>

#include "autograd/tensor.h"

namespace gt::bench {

inline Tensor random_tensor(const Shape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector(v, s);
}

}  // namespace gt::bench
