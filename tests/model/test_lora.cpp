// LoRA adapters (model/lora.h, docs/lora.md): the adapted linear's gradients, peft's initialisation and target
// matching, the frozen base, dropout, peft's folder layout (saved and loaded back), and merging.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "base/json_file.h"
#include "model/gemma4.h"
#include "model/lora.h"
#include "model/safetensors.h"
#include "golden_helpers.h"
#include "support/expect_error.h"
#include "support/gradcheck.h"

using namespace gt;
using gt::testing::expect_error;
using gt::testing::fixture;
using gt::testing::gradcheck1;
using gt::testing::leaf;
using gt::testing::max_abs_diff;
using gt::testing::randn;
using gt::testing::scratch_dir;
namespace fs = std::filesystem;

namespace {

// A fixture by name, or any checkpoint folder by path.
Gemma4 load_quiet(const std::string& name) {
  LoadOptions lo;
  lo.log = [](const std::string&) {};
  return Gemma4::load(name.find('/') == std::string::npos ? fixture(name) : name, lo);
}

Tensor fixture_ids(const std::string& name) {
  return SafetensorsFile::open(fixture(name) + "/golden.safetensors").get("input_ids");
}

// Gives every B (and A) random values, as training would, so the adapter changes the outputs.
void perturb(LoraAdapter& a, uint64_t seed) {
  for (const auto& [name, t] : a.state().items()) {
    const Tensor r = randn(t.shape(), seed++, 0.05f);
    std::copy(r.data<float>(), r.data<float>() + r.numel(), Tensor(t).data<float>());
  }
}

std::vector<std::string> names(const LoraAdapter& a) {
  std::vector<std::string> out;
  for (const auto& [n, t] : a.state().items()) out.push_back(n);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST(Lora, LinearGradientsMatchFiniteDifferences) {
  LoraWeights lw{leaf(randn({3, 5}, 1)), leaf(randn({4, 3}, 2))};
  const Tensor w = randn({4, 5}, 3);
  for (bool dropout : {false, true}) {
    LoraRun run{0.7, 0.3, dropout ? std::optional<uint64_t>(99) : std::nullopt};
    const double worst = gradcheck1(
        [&](const std::vector<Tensor>& xs) {
          return lora_linear(xs[0], w, LoraWeights{xs[1], xs[2]}, &run, 5);
        },
        {leaf(randn({2, 3, 5}, 4)), lw.a, lw.b});
    EXPECT_LE(worst, 1.0) << "dropout " << dropout;
  }
}

TEST(Lora, LinearIsBasePlusScaledLowRankProduct) {
  const Tensor x = randn({2, 5}, 1), w = randn({4, 5}, 2), a = randn({3, 5}, 3), b = randn({4, 3}, 4);
  LoraRun run{0.5, 0, std::nullopt};
  const Tensor y = lora_linear(x, w, {a, b}, &run, 0);
  const Tensor low_rank = matmul(matmul(x, a.transpose(0, 1)), b.transpose(0, 1));
  const Tensor ref = add(matmul(x, w.transpose(0, 1)), scale(low_rank, 0.5));
  EXPECT_LT(max_abs_diff(y, ref), 1e-5);
  EXPECT_EQ(max_abs_diff(lora_linear(x, w, {a, b}, nullptr, 0), linear(x, w)), 0.0);
}

TEST(Lora, DropoutIsSeededAndOnlyInTraining) {
  const Tensor x = randn({4, 64}, 1), w = Tensor::zeros({1, 64});
  const Tensor a = Tensor::ones({1, 64}), b = Tensor::ones({1, 1});
  LoraRun on{1.0, 0.5, 7}, off{1.0, 0.5, std::nullopt}, other{1.0, 0.5, 8};
  const auto y1 = lora_linear(x, w, {a, b}, &on, 3).to_floats(), y2 = lora_linear(x, w, {a, b}, &on, 3).to_floats();
  EXPECT_EQ(y1, y2);
  EXPECT_NE(y1, lora_linear(x, w, {a, b}, &other, 3).to_floats());
  EXPECT_NE(y1, lora_linear(x, w, {a, b}, &on, 4).to_floats());  // each linear draws its own mask
  const Tensor full = sum(x, {1});
  EXPECT_LT(max_abs_diff(lora_linear(x, w, {a, b}, &off, 3).reshape({4}), full), 1e-4);
  EXPECT_GT(max_abs_diff(Tensor::from_vector(y1, {4}), full), 1e-3);
}

TEST(Lora, ScaleFollowsPeft) {
  LoraConfig c;
  c.r = 16;
  c.lora_alpha = 32;
  EXPECT_DOUBLE_EQ(c.scale(), 2.0);
  c.use_rslora = true;
  EXPECT_DOUBLE_EQ(c.scale(), 8.0);
}

TEST(Lora, CreatesPeftInitOnTargetsButNotOnSharedKv) {
  const Gemma4 m = load_quiet("a_causal_ple");  // 5 layers, layers 3 and 4 share keys and values
  LoraConfig c;
  c.r = 4;
  const LoraAdapter a = LoraAdapter::create(m, c, 1);
  const auto n = names(a);
  EXPECT_TRUE(has(n, "layers.0.self_attn.k_proj.lora_A.weight"));
  EXPECT_FALSE(has(n, "layers.3.self_attn.k_proj.lora_A.weight"));
  EXPECT_FALSE(has(n, "layers.4.self_attn.v_proj.lora_B.weight"));
  EXPECT_TRUE(has(n, "layers.4.self_attn.q_proj.lora_A.weight"));
  EXPECT_EQ(n.size(), 2u * (5 * 7 - 2 * 2));
  const Tensor& A = a.state().at("layers.1.mlp.down_proj.lora_A.weight");
  const Tensor& B = a.state().at("layers.1.mlp.down_proj.lora_B.weight");
  const int64_t in = m.layer(1).down_proj.size(1);
  EXPECT_EQ(A.shape(), (Shape{4, in}));
  EXPECT_EQ(B.shape(), (Shape{m.config().hidden_size, 4}));
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  double lo = 0, hi = 0;
  for (float v : A.to_floats()) lo = std::min(lo, double(v)), hi = std::max(hi, double(v));
  EXPECT_LE(hi, bound);
  EXPECT_GE(lo, -bound);
  EXPECT_GT(hi - lo, bound);  // spread over the interval, not a constant
  for (float v : B.to_floats()) EXPECT_EQ(v, 0.f);
  EXPECT_EQ(A.to_floats(), LoraAdapter::create(m, c, 1).state().at("layers.1.mlp.down_proj.lora_A.weight").to_floats());
  EXPECT_NE(A.to_floats(), LoraAdapter::create(m, c, 2).state().at("layers.1.mlp.down_proj.lora_A.weight").to_floats());
}

TEST(Lora, TargetModulesMatchAsPeftDoes) {
  const Gemma4 m = load_quiet("a_causal_ple");
  LoraConfig c;
  c.target_modules = {"self_attn.q_proj", "layers.2.mlp.up_proj"};
  auto n = names(LoraAdapter::create(m, c, 1));
  EXPECT_EQ(n.size(), 2u * 6);
  EXPECT_TRUE(has(n, "layers.2.mlp.up_proj.lora_B.weight"));
  c.target_modules = {"_proj"};  // not a whole name after a dot
  expect_error([&] { LoraAdapter::create(m, c, 1); }, {"matches none"});
  set_lora_targets(c, "model\\.layers\\.[01]\\.mlp\\.(gate|up)_proj", "test");
  n = names(LoraAdapter::create(m, c, 1));
  EXPECT_EQ(n.size(), 2u * 4);
  EXPECT_TRUE(has(n, "layers.1.mlp.gate_proj.lora_A.weight"));
  set_lora_targets(c, ".*", "test");  // would reach the per-layer-input linears too
  expect_error([&] { LoraAdapter::create(m, c, 1); }, {"per_layer", "q/k/v/o_proj"});
  set_lora_targets(c, "(", "test");
  expect_error([&] { LoraAdapter::create(m, c, 1); }, {"does not compile"});
  // Multimodal layout: the module paths carry the language_model prefix.
  const Gemma4 b = load_quiet("b_cond_mqa");
  set_lora_targets(c, "model\\.language_model\\.layers\\.0\\.self_attn\\.o_proj", "test");
  EXPECT_EQ(names(LoraAdapter::create(b, c, 1)).size(), 2u);
}

TEST(Lora, FreshAdapterKeepsOutputsTrainedOneChangesThem) {
  Gemma4 m = load_quiet("a_causal_ple");
  const Tensor ids = fixture_ids("a_causal_ple");
  NoGradGuard ng;
  const Tensor base = m.logits(ids);
  m.set_adapter(LoraAdapter::create(m, LoraConfig{}, 1));
  EXPECT_EQ(max_abs_diff(m.logits(ids), base), 0.0);
  perturb(*m.adapter(), 10);
  EXPECT_GT(max_abs_diff(m.logits(ids), base), 1e-3);
  ForwardOptions off;
  off.adapter_off = true;
  EXPECT_EQ(max_abs_diff(m.logits(ids, off), base), 0.0);
}

TEST(Lora, FrozenBaseTakesNoGradient) {
  Gemma4 m = load_quiet("a_causal_ple");
  m.freeze();
  m.set_adapter(LoraAdapter::create(m, LoraConfig{}, 1));
  EXPECT_TRUE(m.state().trainable().empty());
  const Tensor ids = fixture_ids("a_causal_ple");
  causal_lm_loss(m.logits(ids), ids).backward();
  for (const auto& [name, t] : m.state().items()) EXPECT_FALSE(t.has_grad()) << name;
  EXPECT_TRUE(m.adapter()->state().at("layers.0.self_attn.q_proj.lora_B.weight").has_grad());
}

TEST(Lora, CheckpointedLayersGiveTheSameGradientsWithDropout) {
  std::vector<std::vector<float>> grads[2];
  for (int ck = 0; ck < 2; ++ck) {
    Gemma4 m = load_quiet("a_causal_ple");
    m.freeze();
    LoraConfig c;
    c.lora_dropout = 0.2;
    m.set_adapter(LoraAdapter::create(m, c, 1));
    perturb(*m.adapter(), 3);
    ForwardOptions fo;
    fo.checkpoint_layers = ck == 1;
    fo.lora_dropout_key = 1234;
    const Tensor ids = fixture_ids("a_causal_ple");
    causal_lm_loss(m.logits(ids, fo), ids).backward();
    for (const auto& [n, t] : m.adapter()->state().items()) grads[ck].push_back(t.grad().to_floats());
  }
  EXPECT_EQ(grads[0], grads[1]);
}

TEST(Lora, SavedFolderHasPeftLayoutAndLoadsBack) {
  for (const char* name : {"a_causal_ple", "b_cond_mqa"}) {
    SCOPED_TRACE(name);
    Gemma4 m = load_quiet(name);
    LoraConfig c;
    c.r = 4;
    c.lora_alpha = 16;
    c.lora_dropout = 0.1;
    c.use_rslora = true;
    m.set_adapter(LoraAdapter::create(m, c, 1));
    perturb(*m.adapter(), 20);
    const std::string dir = scratch_dir(std::string("lora_") + name);
    m.adapter()->save(dir, text_prefix(m.config()), "google/gemma-4-E2B-it");

    const nlohmann::json j = read_json_file(dir + "/adapter_config.json");
    EXPECT_EQ(j["peft_type"], "LORA");
    EXPECT_EQ(j["task_type"], "CAUSAL_LM");
    EXPECT_EQ(j["base_model_name_or_path"], "google/gemma-4-E2B-it");
    EXPECT_EQ(j["r"], 4);
    EXPECT_EQ(j["lora_alpha"], 16.0);
    EXPECT_EQ(j["lora_dropout"], 0.1);
    EXPECT_EQ(j["target_modules"].size(), 7u);
    EXPECT_EQ(j["bias"], "none");
    EXPECT_EQ(j["use_rslora"], true);
    EXPECT_EQ(j["use_dora"], false);
    EXPECT_TRUE(j["modules_to_save"].is_null());
    EXPECT_EQ(j["fan_in_fan_out"], false);

    const SafetensorsFile f = SafetensorsFile::open(dir + "/adapter_model.safetensors");
    const std::string pre = std::string("base_model.model.") + text_prefix(m.config());
    EXPECT_EQ(pre, std::string(name) == "b_cond_mqa" ? "base_model.model.model.language_model."
                                                     : "base_model.model.model.");
    EXPECT_EQ(f.entries().size(), m.adapter()->state().size());
    const Gemma4Layer& l0 = m.layer(0);
    EXPECT_EQ(f.entry(pre + "layers.0.self_attn.q_proj.lora_A.weight").shape, (Shape{4, l0.q_proj.size(1)}));
    EXPECT_EQ(f.entry(pre + "layers.0.self_attn.q_proj.lora_B.weight").shape, (Shape{l0.q_proj.size(0), 4}));
    EXPECT_EQ(f.entry(pre + "layers.0.mlp.down_proj.lora_B.weight").shape, (Shape{l0.down_proj.size(0), 4}));
    EXPECT_EQ(f.entry(pre + "layers.0.mlp.down_proj.lora_A.weight").dtype, "F32");
    EXPECT_EQ(f.metadata().at("format"), "pt");

    const Tensor ids = fixture_ids(name);
    NoGradGuard ng;
    const Tensor in_memory = m.logits(ids);
    Gemma4 fresh = load_quiet(name);
    fresh.set_adapter(LoraAdapter::load(dir, fresh));
    EXPECT_EQ(fresh.adapter()->config().scale(), c.scale());
    EXPECT_EQ(max_abs_diff(fresh.logits(ids), in_memory), 0.0);
    EXPECT_GT(max_abs_diff(fresh.logits(ids), load_quiet(name).logits(ids)), 1e-3);
  }
}

TEST(Lora, LoadRefusesWhatItCannotApply) {
  const Gemma4 m = load_quiet("a_causal_ple");
  const std::string dir = scratch_dir("lora_refuse");
  LoraAdapter::create(m, LoraConfig{}, 1).save(dir, "model.", "base");
  auto edit = [&](const char* key, const nlohmann::json& v) {
    nlohmann::json j = read_json_file(dir + "/adapter_config.json");
    j[key] = v;
    std::ofstream(dir + "/adapter_config.json") << j.dump();
  };
  edit("use_dora", true);
  expect_error([&] { LoraAdapter::load(dir, m); }, {"adapter_config.json", "DoRA"});
  edit("use_dora", false);
  edit("modules_to_save", nlohmann::json::array({"lm_head"}));
  expect_error([&] { LoraAdapter::load(dir, m); }, {"modules_to_save"});
  edit("modules_to_save", nullptr);
  edit("r", 5);
  expect_error([&] { LoraAdapter::load(dir, m); }, {"adapter_model.safetensors", "r = 5"});
  edit("r", 8);
  EXPECT_NO_THROW(LoraAdapter::load(dir, m));
  expect_error([&] { LoraAdapter::load(dir, load_quiet("c_causal_plain")); }, {"adapter_model.safetensors"});
}

// In f32 (b_cond_mqa is stored in bf16, where W + s B A is rounded to bf16 as peft's merge rounds it).
TEST(Lora, MergedModelMatchesTheAdapterRun) {
  for (const char* name : {"a_causal_ple", "b_cond_mqa"}) {
    SCOPED_TRACE(name);
    LoadOptions f32;
    f32.storage = StoragePolicy::F32;
    f32.log = [](const std::string&) {};
    Gemma4 m = Gemma4::load(fixture(name), f32);
    m.set_adapter(LoraAdapter::create(m, LoraConfig{}, 1));
    perturb(*m.adapter(), 30);
    const Tensor ids = fixture_ids(name);
    NoGradGuard ng;
    const Tensor with_adapter = m.logits(ids);
    m.merge_adapter();
    EXPECT_EQ(m.adapter(), nullptr);
    EXPECT_LT(max_abs_diff(m.logits(ids), with_adapter), 1e-4);
    const std::string out = scratch_dir(std::string("merged_") + name);
    m.save(out);
    EXPECT_GT(max_abs_diff(load_quiet(name).logits(ids), with_adapter), 1e-3);  // the adapter mattered
    EXPECT_LT(max_abs_diff(load_quiet(out).logits(ids), with_adapter), 1e-4);
  }
}

// Generation's path (the KV cache, one token at a time) applies the adapter as the full forward does.
TEST(Lora, CachedDecodeWithAnAdapterEqualsTheFullForward) {
  Gemma4 m = load_quiet("a_causal_ple");
  m.set_adapter(LoraAdapter::create(m, LoraConfig{}, 1));
  perturb(*m.adapter(), 40);
  const std::vector<int64_t> ids = fixture_ids("a_causal_ple").to_ids();
  const auto T = static_cast<int64_t>(ids.size());
  NoGradGuard ng;
  const std::vector<float> full = m.logits(Tensor::from_ids(ids, {1, T})).to_floats();
  KVCache cache;
  ForwardOptions fo;
  fo.cache = &cache;
  std::vector<float> cached = m.logits(Tensor::from_ids({ids[0], ids[1]}, {1, 2}), fo).to_floats();
  for (int64_t t = 2; t < T; ++t) {
    const auto step = m.logits(Tensor::from_ids({ids[static_cast<size_t>(t)]}, {1, 1}), fo).to_floats();
    cached.insert(cached.end(), step.begin(), step.end());
  }
  ASSERT_EQ(cached.size(), full.size());
  EXPECT_LT(max_abs_diff(Tensor::from_vector(cached, {T, m.config().vocab_size}),
                         Tensor::from_vector(full, {T, m.config().vocab_size})), 1e-4);
}
