// Adafactor and AdamW on the GPU against the same optimizers on the CPU (whose steps are checked against
// transformers and torch in tests/optim): the same parameters and gradients for a few steps give the same weights
// and state.
//
// Both do the same float32 arithmetic; Adafactor's double-precision sums of squares are added in another order,
// which can move a float32 statistic by one ulp, and either compiler may fuse a multiply and an add into one
// rounding where the other does not. Weights and state agree within 1e-6 relative (infinity norms); a bf16
// parameter is the rounding of its f32 master, so one element may round the other way: 1e-2 (one bf16 ulp).
#include <type_traits>

#include "cuda_test.h"
#include "optim/adafactor.h"
#include "optim/adamw.h"

using namespace gt;
using namespace gt::testing;

namespace {

class CudaOptimizer : public CudaTest {};

struct Pair {
  std::vector<Tensor> cpu, gpu;
};

Pair make_params(DType dt) {
  Pair p;
  const std::vector<Shape> shapes{{40, 24}, {2, 16, 12}, {33}, {50, 8}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    Tensor base = randn(shapes[i], 100 + i, 0.5f).to(dt);
    Tensor c = base.clone(), g = base.to(Device::CUDA).detach();
    for (Tensor* t : {&c, &g}) {
      t->set_name("p" + std::to_string(i));
      t->requires_grad_();
    }
    if (i == 3) {  // an embedding table: row-sparse gradients
      set_sparse_grad(c);
      set_sparse_grad(g);
    }
    p.cpu.push_back(c);
    p.gpu.push_back(g);
  }
  return p;
}

// Gradients of bf16 parameters are given as bf16 values: the table's lookup has bf16 activations on the GPU,
// whose upstream gradient is rounded to bf16 there.
void give_grads(const std::vector<Tensor>& params, int step, bool gpu) {
  std::vector<Tensor> roots, grads;
  for (size_t i = 0; i < 3; ++i) {
    Tensor g = randn(params[i].shape(), 1000 * step + i);
    roots.push_back(params[i]);
    grads.push_back(gpu ? g.to(Device::CUDA) : g);
  }
  // Rows 3, 7 (twice) and 41 of the table.
  const Tensor ids = Tensor::from_ids({3, 7, 41, 7}, {4});
  roots.push_back(embedding(params[3], gpu ? ids.to(Device::CUDA) : ids));
  const Tensor up = randn({4, 8}, 77 + step).to(params[3].dtype()).to(DType::F32);
  grads.push_back(gpu ? up.to(roots.back().dtype()).to(Device::CUDA) : up);
  backward(roots, grads);
}

template <class Opt, class Options>
void run_case(const char* name, Options o, DType dt) {
  Pair p = make_params(dt);
  Opt oc(p.cpu, o), og(p.gpu, o);
  for (int step = 1; step <= 3; ++step) {
    give_grads(p.cpu, step, false);
    give_grads(p.gpu, step, true);
    oc.step();
    og.step();
    oc.zero_grad();
    og.zero_grad();
  }
  double w = 0, st = 0, master = 0;
  for (size_t i = 0; i < p.cpu.size(); ++i) {
    w = std::max(w, rel_err(p.gpu[i], p.cpu[i]));
    master = std::max(master, rel_err(og.master(i), oc.master(i)));
  }
  const OptimizerState sc = oc.state(), sg = og.state();
  EXPECT_EQ(sc.tensors.size(), sg.tensors.size());
  for (size_t j = 0; j < sc.tensors.size() && j < sg.tensors.size(); ++j) {
    EXPECT_EQ(sc.tensors[j].first, sg.tensors[j].first);
    if (is_floating(sc.tensors[j].second.dtype()))
      st = std::max(st, rel_err(sg.tensors[j].second, sc.tensors[j].second));
    else
      EXPECT_EQ(sg.tensors[j].second.to_ids(), sc.tensors[j].second.to_ids()) << sc.tensors[j].first;
  }
  std::printf("[cuda] %-9s %-36s weights %.2e, masters %.2e, state %.2e\n",
              std::is_same_v<Opt, AdamW> ? "adamw" : "adafactor", name, w, master, st);
  EXPECT_LE(master, dt == DType::F32 || o.precision.master_weights ? 1e-6 : 1e-2);
  EXPECT_LE(st, 1e-6);
  EXPECT_LE(w, dt == DType::F32 ? 1e-6 : 1e-2);
}

template <class Options>
struct Case {
  const char* name;
  Options options;
  DType dtype;
};

// The settings both optimizers' tests run: plain, with master weights, every row moving, stochastic rounding,
// no masters.
std::vector<Case<AdafactorOptions>> adafactor_cases() {
  AdafactorOptions plain;
  plain.lr = 1e-2;
  AdafactorOptions dense = plain;
  dense.beta1 = 0.9;
  dense.weight_decay = 0.1;
  dense.scale_parameter = true;
  AdafactorOptions sr = plain;
  sr.precision.rounding = Rounding::Stochastic;
  sr.precision.seed = 5;
  AdafactorOptions bare = plain;
  bare.precision.master_weights = false;
  return {{"f32, published defaults", plain, DType::F32},
          {"bf16 + f32 masters", plain, DType::BF16},
          {"f32, beta1 + decay + scale_parameter", dense, DType::F32},
          {"bf16, stochastic rounding", sr, DType::BF16},
          {"bf16, no masters", bare, DType::BF16}};
}

std::vector<Case<AdamWOptions>> adamw_cases() {
  AdamWOptions plain;
  plain.lr = 1e-2;
  AdamWOptions ams = plain;
  ams.amsgrad = true;
  ams.beta1 = 0.3;  // below 0.5: torch's lerp takes its other form
  ams.weight_decay = 0;
  AdamWOptions sr = plain;
  sr.precision.rounding = Rounding::Stochastic;
  sr.precision.seed = 5;
  AdamWOptions bare = plain;
  bare.precision.master_weights = false;
  return {{"f32, torch defaults (decay 0.01)", plain, DType::F32},
          {"bf16 + f32 masters", plain, DType::BF16},
          {"f32, amsgrad, beta1 0.3, no decay", ams, DType::F32},
          {"bf16, stochastic rounding", sr, DType::BF16},
          {"bf16, no masters", bare, DType::BF16}};
}

TEST_F(CudaOptimizer, AdafactorEqualsTheCpuStep) {
  for (const auto& c : adafactor_cases()) run_case<Adafactor>(c.name, c.options, c.dtype);
}

TEST_F(CudaOptimizer, AdamWEqualsTheCpuStep) {
  for (const auto& c : adamw_cases()) run_case<AdamW>(c.name, c.options, c.dtype);
}

// The multi-tensor step (all parameters in one launch sequence) against the same step taken one parameter at a
// time, which launches each stage for one parameter as the per-parameter kernels did: the same bits, weights,
// masters and state. The shapes cover what the stages split differently: more than 64 gradient rows (several column
// partials), more than 256 columns (several column blocks), a batched matrix, a vector longer than the 4,096-block
// grid stride, and a row-sparse table.
template <class Opt, class Options>
void expect_multi_tensor_bits(const char* name, Options o, DType dt) {
  const std::vector<Shape> shapes{{300, 520}, {3, 70, 40}, {1 << 21}, {17}, {200, 64}};
  std::vector<Tensor> sets[2];
  for (auto& params : sets)
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor t = randn(shapes[i], 500 + i, 0.5f).to(dt).to(Device::CUDA).detach();
      t.set_name("p" + std::to_string(i));
      t.requires_grad_();
      if (i == 4) set_sparse_grad(t);
      params.push_back(t);
    }
  Opt multi(sets[0], o), single(sets[1], o);
  single.set_multi_tensor(false);
  for (int step = 1; step <= 3; ++step) {
    for (auto& params : sets) {
      std::vector<Tensor> roots, grads;
      for (size_t i = 0; i + 1 < params.size(); ++i) {
        roots.push_back(params[i]);
        grads.push_back(randn(params[i].shape(), 900 * step + i).to(Device::CUDA));
      }
      roots.push_back(embedding(params.back(), Tensor::from_ids({5, 9, 150, 9, 199}, {5}).to(Device::CUDA)));
      grads.push_back(randn({5, 64}, 31 + step).to(roots.back().dtype()).to(Device::CUDA));
      backward(roots, grads);
    }
    multi.step();
    single.step();
    multi.zero_grad();
    single.zero_grad();
  }
  auto bytes = [](const Tensor& t) {
    const Tensor c = t.contiguous().to(Device::CPU);
    const char* p = static_cast<const char*>(c.raw());
    return std::string(p, p + c.numel() * static_cast<int64_t>(dtype_size(c.dtype())));
  };
  for (size_t i = 0; i < shapes.size(); ++i) EXPECT_EQ(bytes(sets[0][i]), bytes(sets[1][i])) << name << " p" << i;
  const OptimizerState a = multi.state(), b = single.state();
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t j = 0; j < a.tensors.size(); ++j)
    EXPECT_EQ(bytes(a.tensors[j].second), bytes(b.tensors[j].second)) << name << " " << a.tensors[j].first;
}

TEST_F(CudaOptimizer, MultiTensorStepEqualsOneParameterAtATimeBitwise) {
  for (const auto& c : adafactor_cases()) expect_multi_tensor_bits<Adafactor>(c.name, c.options, c.dtype);
  for (const auto& c : adamw_cases()) expect_multi_tensor_bits<AdamW>(c.name, c.options, c.dtype);
}

}  // namespace
