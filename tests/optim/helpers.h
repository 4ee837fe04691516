#pragma once
// Shared by the optimizer tests: giving a leaf a dense or row-sparse gradient, and comparing tensors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/tensor.h"

namespace gt::testing {

inline Tensor named_param(const std::string& name, const std::vector<float>& v, const Shape& shape,
                          DType dtype = DType::F32) {
  Tensor t = Tensor::from_vector(v, shape, dtype);
  t.set_name(name);
  t.requires_grad_();
  return t;
}

inline void give_dense_grad(const Tensor& p, const Tensor& g) { p.backward(g); }

// What an embedding lookup's backward leaves on a table marked with set_sparse_grad().
inline void give_sparse_grad(Tensor& p, const std::vector<int64_t>& rows, const std::vector<float>& values) {
  set_sparse_grad(p);
  const int64_t n = static_cast<int64_t>(rows.size());
  p.impl().autograd->sparse_parts.push_back(
      {Tensor::from_ids(rows, {n}), Tensor::from_vector(values, {n, p.size(1)})});
}

// max_i |a_i - b_i| / max_i |b_i|: the error relative to the tensor's scale, so elements that pass near zero do
// not dominate.
inline double scaled_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

inline bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return false;
  return true;
}

}  // namespace gt::testing
