#pragma once
// Shared pieces of the GPU tests: the skip when no device is visible (CI compiles these tests and runs none), and
// the CPU-vs-GPU comparison of an op's outputs and gradients.
//
// The CPU ops are the reference (each is checked against finite differences and published formulas in
// tests/autograd). An f32 GPU run must agree with them to float32 rounding; a bf16 GPU run gets inputs already
// rounded to bf16 (the CPU reference sees the same values) and may differ by the bf16 rounding of its outputs and
// of the gradients flowing between ops.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "autograd/cuda/runtime.h"
#include "autograd/ops.h"
#include "support/compare.h"
#include "support/gradcheck.h"

namespace gt::testing {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda::available()) GTEST_SKIP() << "no CUDA device visible: GPU tests skipped";
  }
};

using OpFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

struct OpErrors {
  double out = 0, grad = 0;
};

// Runs f on the CPU (f32) and on the GPU (inputs converted to `dtype`), backpropagates the same random upstream
// gradients through both, and returns the worst relative error of the outputs and of the input gradients.
// `inputs` are CPU f32; those that require a gradient are differentiated. For bf16 the inputs are first rounded
// to bf16 values so that both sides compute from the same numbers.
inline OpErrors compare_op(const OpFn& f, const std::vector<Tensor>& inputs, DType dtype, uint64_t seed = 7) {
  std::vector<Tensor> cpu, gpu;
  for (const Tensor& t : inputs) {
    Tensor base = is_floating(t.dtype()) && dtype == DType::BF16 ? t.to(DType::BF16).to(DType::F32) : t;
    Tensor c = base.clone();
    Tensor g = (is_floating(t.dtype()) ? base.to(dtype) : base).to(Device::CUDA).detach();
    if (t.requires_grad()) {
      c.requires_grad_();
      g.requires_grad_();
    }
    cpu.push_back(c);
    gpu.push_back(g);
  }
  const std::vector<Tensor> oc = f(cpu), og = f(gpu);
  OpErrors e;
  std::vector<Tensor> roots_c, roots_g, up_c, up_g;
  for (size_t i = 0; i < oc.size(); ++i) {
    EXPECT_EQ(og[i].device(), Device::CUDA) << "output " << i;
    e.out = std::max(e.out, rel_err(og[i], oc[i]));
    if (!oc[i].requires_grad()) continue;
    const Tensor up = randn(oc[i].shape(), seed + i);
    roots_c.push_back(oc[i]);
    up_c.push_back(up);
    roots_g.push_back(og[i]);
    up_g.push_back(up.to(og[i].dtype()).to(Device::CUDA));
  }
  if (!roots_c.empty()) {
    backward(roots_c, up_c);
    backward(roots_g, up_g);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    EXPECT_TRUE(gpu[i].has_grad()) << "no gradient reached input " << i << " on the GPU";
    if (!gpu[i].has_grad() || !cpu[i].has_grad()) continue;
    e.grad = std::max(e.grad, rel_err(gpu[i].grad(), cpu[i].grad()));
  }
  return e;
}

// Prints and checks both errors against one tolerance.
inline void expect_close(const char* what, const OpErrors& e, double tol) {
  std::printf("[cuda] %-52s outputs %.2e, gradients %.2e (tolerance %.0e)\n", what, e.out, e.grad, tol);
  EXPECT_LE(e.out, tol) << what << ": outputs";
  EXPECT_LE(e.grad, tol) << what << ": gradients";
}

inline Tensor with_grad(Tensor t) {
  t.requires_grad_();
  return t;
}

}  // namespace gt::testing
