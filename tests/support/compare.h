#pragma once
// Comparing a result with its reference (a GPU run with the CPU's, a model with another), on the host.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "model/gemma4.h"

namespace gt::testing {

// max |a - ref| / max |ref| over all elements (infinity norms), on the host.
inline double rel_err(const Tensor& a, const Tensor& ref) {
  const std::vector<float> x = a.to_floats(), y = ref.to_floats();
  EXPECT_EQ(x.size(), y.size());
  double m = 0, d = 0;
  for (size_t i = 0; i < y.size() && i < x.size(); ++i) {
    m = std::max(m, std::fabs(static_cast<double>(y[i])));
    d = std::max(d, std::fabs(static_cast<double>(x[i]) - y[i]));
  }
  return m > 0 ? d / m : d;
}

// The worst relative gradient error (infinity norms) of `model` against `ref`, over every trainable parameter;
// names the parameter in *worst_name.
inline double worst_gradient(const Gemma4& model, const Gemma4& ref, std::string* worst_name) {
  double worst = 0;
  for (const auto& [n, p] : ref.state().items()) {
    if (!p.requires_grad()) continue;
    const Tensor& q = model.state().at(n);
    EXPECT_EQ(p.has_grad(), q.has_grad()) << n;
    if (!p.has_grad() || !q.has_grad()) continue;
    const double e = rel_err(q.grad(), p.grad());
    if (e > worst) worst = e, *worst_name = n;
  }
  return worst;
}

}  // namespace gt::testing
