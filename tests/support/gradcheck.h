#pragma once
// Finite-difference gradient checks for ops that compute in float32.
//
// The op's outputs are reduced to one number L = sum_i w_i * y_i with fixed random weights w (accumulated in
// double), so every output element contributes. The numerical derivative of L with respect to each input element
// uses central differences with Richardson extrapolation, (4 D(h/2) - D(h)) / 3, which cancels the h^2 truncation
// term; what is left is float32 rounding in the op, about 1e-7 |L| / h. With h = 1e-2 that is ~1e-5 |L|, so the
// check passes when |analytic - numeric| <= atol + rtol |numeric| with atol = rtol = 2e-3 by default.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "autograd/ops.h"

namespace gt::testing {

inline Tensor randn(const Shape& shape, uint64_t seed, float scale = 1.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector(v, shape);
}

struct GradcheckOptions {
  double h = 1e-2;
  double atol = 2e-3;
  double rtol = 2e-3;
  uint64_t seed = 1234;
  bool report = true;  // record a gtest failure per bad element (off to test the checker itself)
};

using MultiFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// Checks every element of every input that requires a gradient. Returns the worst error ratio
// |a - n| / (atol + rtol |n|) (pass means <= 1) and records gtest failures naming the input and index.
inline double gradcheck(const MultiFn& f, std::vector<Tensor> inputs, const GradcheckOptions& opt = {}) {
  std::vector<Tensor> outs = f(inputs);
  std::vector<std::vector<float>> weights;
  std::mt19937_64 rng(opt.seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const auto& o : outs) {
    std::vector<float> w(static_cast<size_t>(o.numel()));
    for (auto& x : w) x = u(rng);
    weights.push_back(w);
  }
  auto loss_value = [&](const std::vector<Tensor>& xs) {
    NoGradGuard ng;
    std::vector<Tensor> ys = f(xs);
    double acc = 0;
    for (size_t k = 0; k < ys.size(); ++k) {
      const std::vector<float> y = ys[k].to_floats();
      for (size_t i = 0; i < y.size(); ++i) acc += static_cast<double>(weights[k][i]) * y[i];
    }
    return acc;
  };
  // Analytic gradients.
  for (auto& x : inputs)
    if (x.requires_grad()) x.zero_grad();
  std::vector<Tensor> roots, grads;
  for (size_t k = 0; k < outs.size(); ++k) {
    if (!outs[k].requires_grad()) continue;
    roots.push_back(outs[k]);
    grads.push_back(Tensor::from_vector(weights[k], outs[k].shape()));
  }
  if (!roots.empty()) backward(roots, grads);
  double worst = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.requires_grad()) continue;
    const std::vector<float> analytic =
        x.has_grad() ? x.grad().to_floats() : std::vector<float>(static_cast<size_t>(x.numel()), 0.f);
    Tensor base = x.detach().contiguous();
    std::vector<float> xv = base.to_floats();
    for (size_t i = 0; i < xv.size(); ++i) {
      auto at = [&](double delta) {
        std::vector<float> v = xv;
        v[i] = static_cast<float>(xv[i] + delta);
        std::vector<Tensor> xs = inputs;
        xs[k] = Tensor::from_vector(v, x.shape());
        return loss_value(xs);
      };
      const double h = opt.h;
      const double d1 = (at(h) - at(-h)) / (2 * h);
      const double d2 = (at(h / 2) - at(-h / 2)) / h;
      const double numeric = (4 * d2 - d1) / 3;
      const double err = std::abs(analytic[i] - numeric);
      const double ratio = err / (opt.atol + opt.rtol * std::abs(numeric));
      worst = std::max(worst, ratio);
      if (ratio > 1.0 && opt.report)
        ADD_FAILURE() << "input " << k << " element " << i << ": analytic " << analytic[i] << " numeric "
                      << numeric << " (|diff| " << err << ")";
    }
  }
  return worst;
}

// Single-output form.
inline double gradcheck1(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                         const GradcheckOptions& opt = {}) {
  return gradcheck([&](const std::vector<Tensor>& xs) { return std::vector<Tensor>{f(xs)}; }, std::move(inputs),
                   opt);
}

inline Tensor leaf(Tensor t) {
  t.requires_grad_();
  return t;
}

}  // namespace gt::testing
