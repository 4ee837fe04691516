// Config derivations, checkpoint errors (missing tensor, wrong shape, truncated file, unexpected tensor, untied
// head, unsupported settings), sharded checkpoints, saving, and the forward command.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/gemma4.h"
#include "model/safetensors.h"
#include "golden_helpers.h"
#include "support/expect_error.h"

using namespace gt;
using gt::testing::copy_fixture;
using gt::testing::expect_error;
using gt::testing::fixture;
using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

LoadOptions quiet() {
  LoadOptions lo;
  lo.log = [](const std::string&) {};
  return lo;
}

Tensor fixture_ids(const std::string& name) {
  return SafetensorsFile::open(fixture(name) + "/golden.safetensors").get("input_ids");
}

std::vector<std::pair<std::string, Tensor>> all_tensors(const std::string& file) {
  const SafetensorsFile f = SafetensorsFile::open(file);
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& e : f.entries()) out.emplace_back(e.name, f.get(e.name).clone());
  return out;
}

// The E2B text config as Google's released config.json spells it (global_head_dim, text_config).
json e2b_config() {
  json types = json::array();
  for (int i = 0; i < 35; ++i) types.push_back(i % 5 == 4 ? "full_attention" : "sliding_attention");
  json text = {{"model_type", "gemma4_text"},
               {"vocab_size", 262144},
               {"hidden_size", 1536},
               {"intermediate_size", 6144},
               {"num_hidden_layers", 35},
               {"num_attention_heads", 8},
               {"num_key_value_heads", 1},
               {"head_dim", 256},
               {"global_head_dim", 512},
               {"num_global_key_value_heads", nullptr},
               {"layer_types", types},
               {"sliding_window", 512},
               {"hidden_size_per_layer_input", 256},
               {"vocab_size_per_layer_input", 262144},
               {"num_kv_shared_layers", 20},
               {"use_double_wide_mlp", true},
               {"final_logit_softcapping", 30.0},
               {"attention_k_eq_v", false},
               {"enable_moe_block", false},
               {"use_bidirectional_attention", nullptr},
               {"rope_parameters",
                {{"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
                 {"full_attention",
                  {{"rope_type", "proportional"}, {"partial_rotary_factor", 0.25}, {"rope_theta", 1000000.0}}}}}};
  return {{"architectures", {"Gemma4ForConditionalGeneration"}}, {"model_type", "gemma4"}, {"text_config", text}};
}

}  // namespace

TEST(Gemma4Config, DerivesE2BLayers) {
  const Gemma4Config c = parse_gemma4_config(e2b_config(), "e2b/config.json");
  EXPECT_TRUE(c.conditional_generation);
  ASSERT_EQ(c.layers.size(), 35u);
  EXPECT_EQ(c.first_kv_shared_layer(), 15);
  for (int l = 0; l < 35; ++l) {
    const LayerConfig& lc = c.layers[static_cast<size_t>(l)];
    const bool full = l % 5 == 4;
    EXPECT_EQ(lc.type, full ? LayerType::Full : LayerType::Sliding) << l;
    EXPECT_EQ(lc.head_dim, full ? 512 : 256) << l;
    EXPECT_EQ(lc.kv_heads, 1) << l;
    EXPECT_EQ(lc.intermediate, l >= 15 ? 12288 : 6144) << l;
    EXPECT_EQ(lc.kv_shared, l >= 15) << l;
    EXPECT_EQ(lc.kv_source, l < 15 ? l : full ? 14 : 13) << l;
  }
  EXPECT_EQ(c.rope_full.rotated, 64);  // dims {0..63} and {256..319} rotate (docs/model.md §2.3)
  EXPECT_EQ(c.rope_full.head_dim, 512);
  EXPECT_EQ(c.rope_sliding.rotated, 128);
  EXPECT_DOUBLE_EQ(c.final_logit_softcapping, 30.0);
  EXPECT_EQ(c.pad_token_id, 0);
}

// Root cause E: vocab_size 2^57 made a table of 2^57 x hidden elements, which wrapped to 0 bytes and was read out of
// bounds. Sizes are bounded where they are read, and element counts are checked where tensors are made.
TEST(Gemma4Config, AbsurdSizesAreErrorsNamingTheFile) {
  json j = e2b_config()["text_config"];
  j["vocab_size"] = int64_t{1} << 57;
  expect_error([&] { parse_gemma4_config(j, "flat.json"); },
               {"flat.json: sizes out of range (vocab 144115188075855872"});
  j = e2b_config()["text_config"];
  j["hidden_size"] = 1.5;
  expect_error([&] { parse_gemma4_config(j, "flat.json"); },
               {"flat.json: field 'hidden_size' is 1.5, expected an integer"});
  j = e2b_config()["text_config"];
  j["per_layer_config"] = {{"99999999999999999999", json::object()}};
  expect_error([&] { parse_gemma4_config(j, "flat.json"); }, {"per_layer_config key \"99999999999999999999\""});
  // Found by fuzz_model_config: a value of the wrong type reached json's get<> (a bare type_error, no file named).
  j["per_layer_config"] = {{"0", {{"head_dim", "8"}}}};
  expect_error([&] { parse_gemma4_config(j, "flat.json"); },
               {"flat.json", "per_layer_config.0.head_dim must be an integer, got \"8\""});
  j["per_layer_config"] = json::object();
  j["layer_types"][0] = 7;
  expect_error([&] { parse_gemma4_config(j, "flat.json"); }, {"flat.json", "layer_types entries must be strings, got 7"});
  expect_error([] { Tensor::empty({int64_t{1} << 57, 1536}); }, {"has more elements than fit in 64 bits"});
  expect_error([] { Tensor::empty({int64_t{1} << 62}); }, {"has more bytes than fit in 64 bits"});
}

TEST(Gemma4Config, PerLayerConfigOverridesHeadSizeAndKvHeads) {
  json j = e2b_config()["text_config"];
  j.erase("global_head_dim");
  j["per_layer_config"] = json::object();
  for (int l = 4; l < 35; l += 5) j["per_layer_config"][std::to_string(l)] = {{"head_dim", 512}};
  const Gemma4Config a = parse_gemma4_config(j, "flat.json");
  EXPECT_FALSE(a.conditional_generation);
  EXPECT_EQ(a.layers[4].head_dim, 512);
  EXPECT_EQ(a.layers[3].head_dim, 256);
  // transformers 5.17 honours num_key_value_heads there (probe in tests/fixtures/model/summary.json) ...
  j["num_key_value_heads"] = 2;
  j["per_layer_config"]["4"]["num_key_value_heads"] = 1;
  EXPECT_EQ(parse_gemma4_config(j, "flat.json").layers[4].kv_heads, 1);
  EXPECT_EQ(parse_gemma4_config(j, "flat.json").layers[3].kv_heads, 2);
  // ... and ignores num_global_key_value_heads unless attention_k_eq_v.
  json g = e2b_config();
  g["text_config"]["num_key_value_heads"] = 2;
  g["text_config"]["num_global_key_value_heads"] = 1;
  EXPECT_EQ(parse_gemma4_config(g, "c.json").layers[4].kv_heads, 2);
  j["per_layer_config"]["4"]["sliding_window"] = 7;
  expect_error([&] { parse_gemma4_config(j, "flat.json"); }, {"flat.json", "per_layer_config.4.sliding_window"});
}

TEST(Gemma4Config, RefusesUnsupportedSettingsNamingThemAndTheFile) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"enable_moe_block", true},      {"attention_k_eq_v", true},          {"use_bidirectional_attention", "vision"},
      {"hidden_activation", "silu"},   {"tie_word_embeddings", false},      {"attention_bias", true},
  };
  for (const auto& [key, value] : cases) {
    json j = e2b_config();
    j["text_config"][key] = value;
    expect_error([&] { parse_gemma4_config(j, "/x/config.json"); }, {key.c_str(), "/x/config.json"});
  }
  json r = e2b_config();
  r["text_config"]["rope_parameters"]["full_attention"]["rope_type"] = "yarn";
  expect_error([&] { parse_gemma4_config(r, "/x/config.json"); }, {"rope_type", "yarn", "/x/config.json"});
  json s = e2b_config();
  s["text_config"]["num_kv_shared_layers"] = 35;
  expect_error([&] { parse_gemma4_config(s, "/x/config.json"); }, {"num_kv_shared_layers", "/x/config.json"});
  expect_error([&] { parse_gemma4_config(json{{"model_type", "llama"}}, "/x/config.json"); },
               {"llama", "/x/config.json"});
}

TEST(Gemma4Load, MissingTensorNamesTensorAndFile) {
  const std::string dir = copy_fixture("a_causal_ple", "missing");
  auto t = all_tensors(dir + "/model.safetensors");
  std::erase_if(t, [](const auto& p) { return p.first == "model.layers.2.self_attn.k_norm.weight"; });
  save_safetensors(dir + "/model.safetensors", t, {{"format", "pt"}});
  expect_error([&] { Gemma4::load(dir, quiet()); },
               {"model.layers.2.self_attn.k_norm.weight", (dir + "/model.safetensors").c_str()});
}

TEST(Gemma4Load, WrongShapeNamesTensorAndFile) {
  const std::string dir = copy_fixture("a_causal_ple", "shape");
  auto t = all_tensors(dir + "/model.safetensors");
  for (auto& [n, v] : t)
    if (n == "model.layers.3.mlp.up_proj.weight") v = Tensor::zeros({32, 32});  // shared layer: double-wide is 64
  save_safetensors(dir + "/model.safetensors", t, {{"format", "pt"}});
  expect_error([&] { Gemma4::load(dir, quiet()); },
               {"model.layers.3.mlp.up_proj.weight", "model.safetensors", "[32, 32]", "[64, 32]"});
}

TEST(Gemma4Load, TruncatedFileNamesFileAndTensor) {
  const std::string dir = copy_fixture("a_causal_ple", "trunc");
  const std::string f = dir + "/model.safetensors";
  fs::resize_file(f, fs::file_size(f) - 100);
  expect_error([&] { Gemma4::load(dir, quiet()); }, {"model.safetensors", "truncated"});
}

TEST(Gemma4Load, UnexpectedTensorAndUntiedHeadAreErrors) {
  const std::string dir = copy_fixture("a_causal_ple", "extra");
  const auto base = all_tensors(dir + "/model.safetensors");
  auto t = base;
  t.emplace_back("model.layers.0.router.proj.weight", Tensor::zeros({2, 32}));
  save_safetensors(dir + "/model.safetensors", t, {{"format", "pt"}});
  expect_error([&] { Gemma4::load(dir, quiet()); }, {"model.layers.0.router.proj.weight", "unexpected"});

  Tensor embed;
  for (const auto& [n, v] : base)
    if (n == "model.embed_tokens.weight") embed = v;
  t = base;
  t.emplace_back("lm_head.weight", embed.clone());
  save_safetensors(dir + "/model.safetensors", t, {{"format", "pt"}});
  EXPECT_NO_THROW(Gemma4::load(dir, quiet()));  // present and equal: tied
  Tensor other = embed.clone();
  other.data<float>()[7] += 1.f;
  t.back().second = other;
  save_safetensors(dir + "/model.safetensors", t, {{"format", "pt"}});
  expect_error([&] { Gemma4::load(dir, quiet()); }, {"lm_head.weight", "differs"});
}

TEST(Gemma4Load, SkipsTowersAndUnusedSharedKvWithOneLinePerKind) {
  // b has tiny vision and audio towers; add the unused k/v/k_norm of its shared layers as Google's files have.
  const std::string dir = copy_fixture("b_cond_mqa", "skip");
  auto t = all_tensors(dir + "/model.safetensors");
  for (int l : {2, 3}) {
    const int64_t hd = l == 2 ? 24 : 48;
    const std::string p = "model.language_model.layers." + std::to_string(l) + ".self_attn.";
    t.emplace_back(p + "k_proj.weight", Tensor::zeros({hd, 48}, DType::BF16));
    t.emplace_back(p + "v_proj.weight", Tensor::zeros({hd, 48}, DType::BF16));
    t.emplace_back(p + "k_norm.weight", Tensor::ones({hd}, DType::BF16));
  }
  save_safetensors(dir + "/model.safetensors", t, {{"format", "pt"}});
  std::vector<std::string> lines;
  LoadOptions lo;
  lo.log = [&](const std::string& s) { lines.push_back(s); };
  const Gemma4 with = Gemma4::load(dir, lo);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("vision/audio tower"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("skipped 6 unused k_proj/v_proj/k_norm"), std::string::npos) << lines[1];
  const Gemma4 without = Gemma4::load(fixture("b_cond_mqa"), quiet());
  NoGradGuard ng;
  const Tensor ids = fixture_ids("b_cond_mqa");
  EXPECT_EQ(with.logits(ids).to_floats(), without.logits(ids).to_floats());
}

TEST(Gemma4Load, ShardedCheckpointLoadsTheSame) {
  const std::string dir = copy_fixture("a_causal_ple", "sharded");
  const auto t = all_tensors(dir + "/model.safetensors");
  fs::remove(dir + "/model.safetensors");
  std::vector<std::pair<std::string, Tensor>> s1, s2;
  json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
  for (size_t i = 0; i < t.size(); ++i) {
    const bool first = i % 2 == 0;
    (first ? s1 : s2).push_back(t[i]);
    index["weight_map"][t[i].first] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  save_safetensors(dir + "/model-00001-of-00002.safetensors", s1, {{"format", "pt"}});
  save_safetensors(dir + "/model-00002-of-00002.safetensors", s2, {{"format", "pt"}});
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  const Gemma4 a = Gemma4::load(dir, quiet()), b = Gemma4::load(fixture("a_causal_ple"), quiet());
  NoGradGuard ng;
  const Tensor ids = fixture_ids("a_causal_ple");
  EXPECT_EQ(a.logits(ids).to_floats(), b.logits(ids).to_floats());

  // An index naming a shard that lacks the tensor is an error naming both.
  index["weight_map"][t[0].first] = "model-00002-of-00002.safetensors";
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  expect_error([&] { Gemma4::load(dir, quiet()); }, {t[0].first.c_str(), "model-00002-of-00002.safetensors"});

  // A weight_map entry that is no file name is an error naming the index and the entry (a fuzzer found it escaping
  // as nlohmann's type_error).
  index["weight_map"][t[0].first] = 7;
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  expect_error([&] { Gemma4::load(dir, quiet()); }, {"model.safetensors.index.json", t[0].first.c_str(),
                                                      "is not a file name"});
}

TEST(Gemma4Save, RoundTripKeepsLayoutDtypeTowersAndLogits) {
  for (const char* name : {"a_causal_ple", "b_cond_mqa", "c_causal_plain"}) {
    const Gemma4 m = Gemma4::load(fixture(name), quiet());
    const std::string out = gt::testing::scratch_dir(std::string("save_") + name);
    m.save(out);
    const SafetensorsFile src = SafetensorsFile::open(fixture(name) + "/model.safetensors");
    const SafetensorsFile dst = SafetensorsFile::open(out + "/model.safetensors");
    EXPECT_EQ(dst.metadata().at("format"), "pt");
    // Same names as transformers wrote (towers included); values equal, f16 widened to f32.
    ASSERT_EQ(src.entries().size(), dst.entries().size()) << name;
    for (const auto& e : src.entries()) {
      ASSERT_TRUE(dst.contains(e.name)) << e.name;
      EXPECT_EQ(src.get(e.name).to_floats(), dst.get(e.name).to_floats()) << e.name;
    }
    const Gemma4 again = Gemma4::load(out, quiet());
    EXPECT_EQ(again.config().conditional_generation, m.config().conditional_generation);
    NoGradGuard ng;
    const Tensor ids = fixture_ids(name);
    EXPECT_EQ(again.logits(ids).to_floats(), m.logits(ids).to_floats()) << name;
  }
}

TEST(Gemma4Save, Bf16ConversionAndTrainedValuesLand) {
  LoadOptions lo = quiet();
  lo.storage = StoragePolicy::F32;
  Gemma4 m = Gemma4::load(fixture("a_causal_ple"), lo);
  Tensor& w = m.state().at("layers.1.mlp.down_proj.weight");
  w.data<float>()[3] = 0.5f;  // parameters are writable
  const std::string out = gt::testing::scratch_dir("save_bf16");
  m.save(out, DType::BF16);
  const Gemma4 b = Gemma4::load(out, quiet());
  EXPECT_EQ(b.state().at("layers.1.mlp.down_proj.weight").dtype(), DType::BF16);
  EXPECT_EQ(b.state().at("layers.1.mlp.down_proj.weight").to_floats()[3], 0.5f);
  std::ifstream f(out + "/config.json");
  EXPECT_EQ(json::parse(f)["dtype"], "bfloat16");
}

TEST(Gemma4Load, KeepStorageParametersAreWritableWithoutTouchingTheFile) {
  const std::string dir = copy_fixture("a_causal_ple", "cow");
  const auto before = all_tensors(dir + "/model.safetensors");
  {
    Gemma4 m = Gemma4::load(dir, quiet());
    m.state().at("norm.weight").data<float>()[0] = 123.f;  // an optimizer's in-place write
    EXPECT_EQ(m.state().at("norm.weight").to_floats()[0], 123.f);
  }
  for (const auto& [n, t] : all_tensors(dir + "/model.safetensors")) {
    if (n == "model.norm.weight") {
      EXPECT_NE(t.to_floats()[0], 123.f);
    }
  }
}

TEST(Gemma4Cli, ForwardWritesLogitsAndLoss) {
  const Tensor ids = fixture_ids("a_causal_ple");
  std::string list;
  for (int64_t v : ids.to_ids()) list += (list.empty() ? "" : ",") + std::to_string(v);
  const std::string out = gt::testing::scratch_dir("cli") + "/out.safetensors";
  const std::string cmd = std::string(GT_BINARY) + " forward --model " + fixture("a_causal_ple") + " --ids " + list +
                          " --out " + out + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const SafetensorsFile f = SafetensorsFile::open(out);
  const SafetensorsFile g = SafetensorsFile::open(fixture("a_causal_ple") + "/golden.safetensors");
  EXPECT_EQ(f.get("logits").shape(), g.get("logits").shape());
  EXPECT_EQ(f.get("loss").shape(), (Shape{1}));
  EXPECT_LE(gt::testing::max_abs_diff(f.get("logits"), g.get("logits")), 1e-4);
  EXPECT_LE(std::fabs(f.get("loss").item() - g.get("loss").item()), 1e-4);
  const std::string bad = std::string(GT_BINARY) + " forward --model " + fixture("a_causal_ple") +
                          " --ids 1,x --out " + out + " 2>/dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

TEST(Gemma4Batch, LeftPaddingAndBatchRowsMatchSingleSequences) {
  // Rotary attention depends on relative positions only, so a left-padded row with its padding keys masked gives
  // the real tokens the logits of the unpadded sequence; the two rows of a batch are independent.
  const Gemma4 m = Gemma4::load(fixture("a_causal_ple"), quiet());
  NoGradGuard ng;
  const std::vector<int64_t> a{2, 17, 9, 41, 5, 77, 3, 120}, b{2, 33, 8, 200, 61, 14, 9, 250};
  const int64_t pad = 3, T = static_cast<int64_t>(a.size());
  std::vector<int64_t> ids(pad, 0), mask(pad, 0);
  ids.insert(ids.end(), a.begin(), a.end());
  mask.insert(mask.end(), a.size(), 1);
  ids.insert(ids.end(), b.begin(), b.end());
  ids.insert(ids.end(), pad, 0);  // right padding of row 2: later positions never reach the real tokens
  mask.insert(mask.end(), b.size(), 1);
  mask.insert(mask.end(), pad, 0);
  ForwardOptions fo;
  fo.attention_mask = Tensor::from_ids(mask, {2, T + pad});
  const Tensor batch = m.logits(Tensor::from_ids(ids, {2, T + pad}), fo);
  const Tensor ra = m.logits(Tensor::from_ids(a, {1, T})), rb = m.logits(Tensor::from_ids(b, {1, T}));
  EXPECT_LE(gt::testing::max_abs_diff(batch.slice(0, 0, 1).slice(1, pad, pad + T), ra), 1e-4);
  EXPECT_LE(gt::testing::max_abs_diff(batch.slice(0, 1, 2).slice(1, 0, T), rb), 1e-4);
}
