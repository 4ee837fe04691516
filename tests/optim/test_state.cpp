// Exact resume through state()/load_state(), skipped parameters, and the errors for bad options and bad state.
#include <gtest/gtest.h>

#include "support/error_message.h"

#include <functional>
#include <memory>
#include <random>
#include <string>

#include "base/error.h"
#include "helpers.h"
#include "optim/adafactor.h"
#include "optim/adamw.h"

using namespace gt;
using namespace gt::testing;

namespace {

// name, shape, dtype, first step with a gradient ("late" has none before the checkpoint, so no state there),
// and whether its gradient is row-sparse.
struct Spec {
  std::string name;
  Shape shape;
  DType dtype;
  int first_step;
  bool sparse;
};
const std::vector<Spec> kSpecs = {{"layers.0.w", {8, 6}, DType::BF16, 1, false},
                                  {"layers.0.norm", {6}, DType::F32, 1, false},
                                  {"embed", {20, 4}, DType::F32, 1, true},
                                  {"late", {3, 2}, DType::BF16, 5, false}};

std::vector<float> values(uint64_t seed, int64_t n, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<Tensor> fresh_params() {
  std::vector<Tensor> ps;
  for (size_t i = 0; i < kSpecs.size(); ++i)
    ps.push_back(named_param(kSpecs[i].name, values(100 + i, shape_numel(kSpecs[i].shape), 1.f), kSpecs[i].shape,
                             kSpecs[i].dtype));
  return ps;
}

void give_grads(std::vector<Tensor>& ps, int step) {
  for (size_t i = 0; i < ps.size(); ++i) {
    const Spec& s = kSpecs[i];
    if (step < s.first_step) continue;
    const uint64_t seed = 1000 * static_cast<uint64_t>(step) + i;
    if (s.sparse) {
      const std::vector<int64_t> rows = {static_cast<int64_t>(step % 5), 7, static_cast<int64_t>(10 + step)};
      give_sparse_grad(ps[i], rows, values(seed, 3 * s.shape[1], 1.f));
    } else {
      give_dense_grad(ps[i], Tensor::from_vector(values(seed, shape_numel(s.shape), 1.f), s.shape));
    }
  }
}

using Make = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

void run_steps(Optimizer& opt, std::vector<Tensor>& ps, int from, int to) {
  for (int s = from; s <= to; ++s) {
    give_grads(ps, s);
    opt.step();
    opt.zero_grad();
  }
}

OptimizerState deep_copy(const OptimizerState& s) {
  OptimizerState c = s;
  for (auto& [name, t] : c.tensors) t = t.clone();
  return c;
}

void check_resume(const Make& make) {
  std::vector<Tensor> straight = fresh_params();
  auto a = make(straight);
  run_steps(*a, straight, 1, 8);

  std::vector<Tensor> first = fresh_params();
  auto b = make(first);
  run_steps(*b, first, 1, 3);
  const OptimizerState saved = deep_copy(b->state());
  EXPECT_EQ(saved.tensors.end(), std::find_if(saved.tensors.begin(), saved.tensors.end(), [](const auto& e) {
              return e.first.rfind("late.", 0) == 0;
            })) << "a parameter without a gradient yet has no state";
  std::vector<Tensor> resumed;
  for (const Tensor& p : first) {
    Tensor c = p.clone();
    c.set_name(p.name()).requires_grad_();
    resumed.push_back(c);
  }
  b.reset();  // the checkpoint is all that survives

  auto c = make(resumed);
  c->load_state(saved);
  EXPECT_EQ(c->steps(), 3);
  EXPECT_EQ(c->lr(), a->lr());
  run_steps(*c, resumed, 4, 8);
  for (size_t i = 0; i < straight.size(); ++i)
    EXPECT_TRUE(bit_equal(straight[i].to_floats(), resumed[i].to_floats())) << kSpecs[i].name;
  const OptimizerState sa = a->state(), sc = c->state();
  ASSERT_EQ(sa.tensors.size(), sc.tensors.size());
  for (size_t i = 0; i < sa.tensors.size(); ++i) {
    EXPECT_EQ(sa.tensors[i].first, sc.tensors[i].first);
    const Tensor &x = sa.tensors[i].second, &y = sc.tensors[i].second;
    if (is_floating(x.dtype()))
      EXPECT_TRUE(bit_equal(x.to_floats(), y.to_floats())) << sa.tensors[i].first;
    else
      EXPECT_EQ(x.to_ids(), y.to_ids()) << sa.tensors[i].first;
  }

  // The test can tell: the same continuation without the restored state ends elsewhere.
  std::vector<Tensor> forgetful = fresh_params();
  auto d = make(forgetful);
  run_steps(*d, forgetful, 1, 3);
  auto e = make(forgetful);
  run_steps(*e, forgetful, 4, 8);
  EXPECT_FALSE(bit_equal(straight[0].to_floats(), forgetful[0].to_floats()));
}


}  // namespace

TEST(Resume, AdafactorContinuesBitIdentically) {
  AdafactorOptions o;
  o.lr = 1e-2;
  o.beta1 = 0.9;
  o.weight_decay = 0.01;
  o.scale_parameter = true;
  o.precision.rounding = Rounding::Stochastic;  // the draws depend on the restored step counts
  o.precision.seed = 3;
  check_resume([&](std::vector<Tensor> ps) { return std::make_unique<Adafactor>(std::move(ps), o); });
  check_resume([&](std::vector<Tensor> ps) {
    return std::make_unique<Adafactor>(std::move(ps), AdafactorOptions::transformers_defaults());
  });
}

TEST(Resume, AdamWContinuesBitIdentically) {
  AdamWOptions o;
  o.lr = 1e-2;
  o.amsgrad = true;
  o.weight_decay = 0.1;
  check_resume([&](std::vector<Tensor> ps) { return std::make_unique<AdamW>(std::move(ps), o); });
}

TEST(Step, SkipsParametersWithoutGradient) {
  Tensor a = named_param("a", {1, 2, 3}, {3});
  Tensor b = named_param("b", {4, 5, 6}, {3});
  AdamW opt({a, b}, AdamWOptions{});
  give_dense_grad(a, Tensor::ones({3}));
  opt.step();
  EXPECT_EQ(b.to_floats(), (std::vector<float>{4, 5, 6}));
  EXPECT_NE(a.to_floats(), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(opt.param_step(0), 1);
  EXPECT_EQ(opt.param_step(1), 0);
  for (const auto& [name, t] : opt.state().tensors) EXPECT_EQ(name.rfind("a.", 0), 0u) << name;
}

TEST(Errors, OptionsTransformersRejects) {
  AdafactorOptions both = AdafactorOptions::transformers_defaults();
  both.lr = 1e-3;
  Tensor p = named_param("p", {1, 2}, {2});
  EXPECT_NE((gt::testing::thrown_message<Error>([&] { Adafactor({p}, both); })).find("relative_step"), std::string::npos);
  AdafactorOptions warm;  // our default has relative_step off
  warm.warmup_init = true;
  EXPECT_NE((gt::testing::thrown_message<Error>([&] { Adafactor({p}, warm); })).find("warmup_init=true requires relative_step"),
            std::string::npos);
  AdafactorOptions none;
  none.lr.reset();
  EXPECT_NE((gt::testing::thrown_message<Error>([&] { Adafactor({p}, none); })).find("lr must be set"), std::string::npos);
  Adafactor relative({p}, AdafactorOptions::transformers_defaults());
  EXPECT_THROW(relative.set_lr(1e-3), Error);
  EXPECT_EQ(relative.lr(), 0.0);
}

TEST(Errors, BadParameters) {
  Tensor unnamed = Tensor::zeros({2});
  unnamed.requires_grad_();
  EXPECT_NE((gt::testing::thrown_message<Error>([&] { AdamW({unnamed}); })).find("no name"), std::string::npos);
  Tensor p = named_param("p", {1, 2}, {2});
  EXPECT_NE((gt::testing::thrown_message<Error>([&] { AdamW({p, p}); })).find("'p' appears twice"), std::string::npos);

  Tensor table = named_param("tok_embed", std::vector<float>(12, 0.f), {4, 3});
  Adafactor opt({table}, AdafactorOptions{});
  give_sparse_grad(table, {2, 1}, std::vector<float>(6, 1.f));
  const std::string msg = gt::testing::thrown_message<Error>([&] { opt.step(); });
  EXPECT_NE(msg.find("tok_embed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sorted and unique"), std::string::npos) << msg;
}

TEST(Errors, LoadStateNamesTheParameter) {
  Tensor m = named_param("blocks.3.mlp.up", std::vector<float>(12, 0.5f), {4, 3});
  Tensor w = named_param("blocks.3.mlp.down", std::vector<float>(12, 0.5f), {4, 3}, DType::BF16);
  AdafactorOptions o;
  o.beta1 = 0.9;
  Adafactor opt({m, w}, o);
  give_dense_grad(m, Tensor::ones({4, 3}));
  give_dense_grad(w, Tensor::ones({4, 3}));
  opt.step();
  const OptimizerState good = deep_copy(opt.state());

  Tensor m2 = named_param("blocks.3.mlp.up", std::vector<float>(12, 0.5f), {4, 3});
  Tensor w2 = named_param("blocks.3.mlp.down", std::vector<float>(12, 0.5f), {4, 3}, DType::BF16);
  Adafactor other({m2, w2}, o);

  auto with = [&](const std::string& key, Tensor replacement) {
    OptimizerState s = good;
    for (auto& [name, t] : s.tensors)
      if (name == key) t = replacement;
    return s;
  };
  std::string msg = gt::testing::thrown_message<Error>([&] { other.load_state(with("blocks.3.mlp.up.exp_avg_sq_row", Tensor::zeros({3}))); });
  EXPECT_NE(msg.find("blocks.3.mlp.up.exp_avg_sq_row"), std::string::npos) << msg;
  EXPECT_NE(msg.find("parameter 'blocks.3.mlp.up' needs f32[4]"), std::string::npos) << msg;

  msg = gt::testing::thrown_message<Error>([&] { other.load_state(with("blocks.3.mlp.down.master", Tensor::zeros({3, 4}))); });
  EXPECT_NE(msg.find("parameter 'blocks.3.mlp.down' needs f32[4, 3]"), std::string::npos) << msg;

  OptimizerState unknown = good;
  unknown.tensors.emplace_back("blocks.4.mlp.up.exp_avg", Tensor::zeros({4, 3}));
  msg = gt::testing::thrown_message<Error>([&] { other.load_state(unknown); });
  EXPECT_NE(msg.find("'blocks.4.mlp.up.exp_avg' belongs to no parameter"), std::string::npos) << msg;

  OptimizerState missing = good;
  missing.tensors.erase(std::find_if(missing.tensors.begin(), missing.tensors.end(),
                                     [](const auto& e) { return e.first == "blocks.3.mlp.up.exp_avg"; }));
  msg = gt::testing::thrown_message<Error>([&] { other.load_state(missing); });
  EXPECT_NE(msg.find("'blocks.3.mlp.up' is missing 'blocks.3.mlp.up.exp_avg'"), std::string::npos) << msg;

  // Nothing was half-loaded; the good state still loads.
  EXPECT_TRUE(other.state().tensors.empty());
  other.load_state(good);
  EXPECT_EQ(other.state().tensors.size(), good.tensors.size());

  // AdamW's state does not fit Adafactor's slots.
  AdamW adamw({m2});
  give_dense_grad(m2, Tensor::ones({4, 3}));
  adamw.step();
  msg = gt::testing::thrown_message<Error>([&] { other.load_state(adamw.state()); });
  EXPECT_NE(msg.find("not a state slot of parameter 'blocks.3.mlp.up'"), std::string::npos) << msg;
}
