// `export --format fp8`: the compressed-tensors layout key by key, and the folder read back by our loader with
// logits close to the bf16 model's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "autograd/autograd.h"
#include "base/json_file.h"
#include "export/export.h"
#include "export/fp8.h"
#include "export_fixture.h"
#include "model/float8.h"
#include "model/safetensors.h"
#include "support/expect_error.h"

using namespace gt;
using namespace gt::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const LoadOptions kQuiet{.storage = StoragePolicy::Keep, .log = [](const std::string&) {}};

std::string export_fp8(const TinyHfFolder& t, const std::string& name = "fp8") {
  const exporter::ExportSource s = exporter::open_export_source(t.src, nullptr);
  return exporter::run_export(s, t.path(name), {.format = exporter::Format::FP8});
}

}  // namespace

TEST(Fp8Export, LayoutKeyByKey) {
  TinyHfFolder t;
  const std::string out = export_fp8(t);
  const Gemma4 bf16 = Gemma4::load(t.src, kQuiet);
  const SafetensorsFile f = SafetensorsFile::open(out + "/model.safetensors");
  size_t linears = 0;
  for (const auto& [name, p] : bf16.state().items()) {
    const std::string full = "model." + name;
    ASSERT_TRUE(f.contains(full)) << full;
    const auto& e = f.entry(full);
    EXPECT_EQ(e.shape, p.shape()) << full;
    if (!exporter::is_fp8_linear(name)) {
      EXPECT_EQ(e.dtype, "BF16") << full;
      EXPECT_FALSE(f.contains(full + "_scale")) << full;
      continue;
    }
    ++linears;
    EXPECT_EQ(e.dtype, "F8_E4M3") << full;
    const auto& s = f.entry(full + "_scale");
    EXPECT_EQ(s.dtype, "F32") << full;
    EXPECT_EQ(s.shape, (Shape{p.shape()[0], 1})) << full;
    // Every code is the nearest E4M3 value of weight / (row absmax / 448).
    const std::vector<float> w = p.to_floats(), codes = f.get(full).to_floats(), scale = f.get(full + "_scale").to_floats();
    const int64_t cols = p.shape()[1];
    for (size_t i = 0; i < w.size(); ++i) {
      const float sc = scale[i / static_cast<size_t>(cols)];
      ASSERT_EQ(codes[i], e4m3_to_float(float_to_e4m3(w[i] / sc))) << full << " [" << i << "]";
      ASSERT_LE(std::fabs(codes[i] * sc - w[i]), std::ldexp(std::fabs(w[i]), -4) + std::ldexp(sc, -10)) << full;
    }
  }
  // 5 layers: q, o, gate, up, down each, and k, v on the 3 that own their keys and values.
  EXPECT_EQ(linears, 5u * 5 + 3u * 2);
  EXPECT_EQ(f.entries().size(), bf16.state().items().size() + linears);
  EXPECT_EQ(f.metadata().at("format"), "pt");

  const json cfg = read_json_file(out + "/config.json");
  EXPECT_EQ(cfg["dtype"], "bfloat16");
  const json& q = cfg.at("quantization_config");
  EXPECT_EQ(q["quant_method"], "compressed-tensors");
  EXPECT_EQ(q["format"], "float-quantized");
  EXPECT_EQ(q["quantization_status"], "compressed");
  EXPECT_TRUE(q["kv_cache_scheme"].is_null());
  const json& g = q["config_groups"]["group_0"];
  EXPECT_EQ(g["targets"], json({"Linear"}));
  EXPECT_EQ(g["weights"]["num_bits"], 8);
  EXPECT_EQ(g["weights"]["type"], "float");
  EXPECT_EQ(g["weights"]["strategy"], "channel");
  EXPECT_EQ(g["weights"]["symmetric"], true);
  EXPECT_EQ(g["weights"]["dynamic"], false);
  EXPECT_EQ(g["input_activations"]["num_bits"], 8);
  EXPECT_EQ(g["input_activations"]["type"], "float");
  EXPECT_EQ(g["input_activations"]["strategy"], "token");
  EXPECT_EQ(g["input_activations"]["dynamic"], true);
  EXPECT_EQ(g["input_activations"]["symmetric"], true);
  EXPECT_EQ(q["ignore"], json({"lm_head", "model.embed_tokens", "model.embed_tokens_per_layer",
                               "model.per_layer_model_projection", "re:.*layers\\.\\d+\\.per_layer_input_gate$",
                               "re:.*layers\\.\\d+\\.per_layer_projection$", "re:.*norm$"}));
  for (const char* name : {"tokenizer.json", "generation_config.json", "chat_template.jinja"})
    EXPECT_TRUE(fs::exists(fs::path(out) / name)) << name;
}

// Each quantized weight moves by at most 2^-4 of itself (half of E4M3's 2^-3 spacing; LayoutKeyByKey checks every
// one), so each linear output moves by at most 2^-4 * sum_j |w_ij x_j|. How far that carries to the logits is the
// model's own sensitivity, which in this tiny random model is high (attention over q/k-normed heads at scale 1 is
// sharp: a uniform 1% weight noise moves its logits by about 0.35). The bound checked is therefore the worst case
// of the same size: the FP8 logits must lie closer to the bf16 ones than those of the bf16 model with every
// quantized weight moved by the full 2^-4 of itself, with random signs.
TEST(Fp8Export, LoadsBackWithLogitsCloseToTheBf16Model) {
  TinyHfFolder t;
  const std::string out = export_fp8(t);
  const Gemma4 bf16 = Gemma4::load(t.src, kQuiet), fp8 = Gemma4::load(out, kQuiet);
  EXPECT_EQ(fp8.state().at("layers.0.mlp.up_proj.weight").dtype(), DType::F32);
  EXPECT_EQ(fp8.state().at("layers.0.input_layernorm.weight").dtype(), DType::BF16);
  Gemma4 worst = Gemma4::load(t.src, {.storage = StoragePolicy::F32, .log = [](const std::string&) {}});
  std::mt19937 rng(5);
  for (auto& [name, p] : worst.state().items()) {
    if (!exporter::is_fp8_linear(name)) continue;
    std::vector<float> v = p.to_floats();
    for (float& x : v) x *= rng() % 2 ? 1.f + 0x1p-4f : 1.f - 0x1p-4f;
    p.detach().copy_from(Tensor::from_vector(v, p.shape()));
  }
  NoGradGuard ng;
  const Tensor ids = Tensor::from_ids({2, 10, 50, 80, 120, 200, 33, 7, 99, 150, 260, 4}, {1, 12});
  const std::vector<float> a = bf16.logits(ids).to_floats();
  const auto max_diff = [&](const Gemma4& m) {
    const std::vector<float> b = m.logits(ids).to_floats();
    float d = 0;
    for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
    return d;
  };
  const float d_fp8 = max_diff(fp8), d_worst = max_diff(worst);
  EXPECT_GT(d_fp8, 0.f);
  EXPECT_LT(d_fp8, d_worst);
  // Saved again (dense), the folder is an ordinary one: no quantization_config left behind.
  fp8.save(t.path("dense"));
  EXPECT_FALSE(read_json_file(t.path("dense") + "/config.json").contains("quantization_config"));
}

TEST(Fp8Export, TheCommandLineExportsAndForwardRunsOnTheResult) {
  TinyHfFolder t;
  const CommandResult e = run_gemma_tune("export '" + t.src + "' --out '" + t.path("cli") + "' --format FP8");  // any case
  ASSERT_EQ(e.rc, 0) << e.output;
  const CommandResult f =
      run_gemma_tune("forward --model '" + t.path("cli") + "' --ids 2,17,9 --out '" + t.path("logits.safetensors") + "'");
  ASSERT_EQ(f.rc, 0) << f.output;
  const Tensor logits = SafetensorsFile::open(t.path("logits.safetensors")).get("logits");
  EXPECT_EQ(logits.shape(), (Shape{3, 272}));
  EXPECT_EQ(SafetensorsFile::open(t.path("cli") + "/model.safetensors").entry("model.layers.0.mlp.up_proj.weight").dtype,
            "F8_E4M3");
}

TEST(Fp8Export, BrokenFp8FoldersAreErrorsNamingTheTensor) {
  TinyHfFolder t;
  const std::string out = export_fp8(t);
  const SafetensorsFile f = SafetensorsFile::open(out + "/model.safetensors");
  std::vector<RawTensor> kept;
  for (const auto& e : f.entries())
    if (e.name != "model.layers.1.mlp.down_proj.weight_scale") kept.push_back({e.name, e.dtype, e.shape, nullptr, 0, {}});
  // The file again without one scale, from its stored bytes.
  std::vector<std::string> bytes;
  bytes.reserve(kept.size());  // the RawTensors point into these strings
  const std::string all = file_bytes(out + "/model.safetensors");
  uint64_t hlen = 0;
  std::memcpy(&hlen, all.data(), 8);
  for (RawTensor& r : kept) {
    const auto& e = f.entry(r.name);
    bytes.push_back(all.substr(8 + hlen + e.begin, e.end - e.begin));
    r.data = bytes.back().data();
    r.nbytes = bytes.back().size();
  }
  save_safetensors(out + "/model.safetensors", kept, {{"format", "pt"}});
  expect_error([&] { Gemma4::load(out, kQuiet); }, {"model.layers.1.mlp.down_proj.weight", "weight_scale", "missing"});

  const std::string out2 = export_fp8(t, "fp8b");
  json cfg = read_json_file(out2 + "/config.json");
  cfg.erase("quantization_config");
  std::ofstream(out2 + "/config.json") << cfg.dump(2);
  expect_error([&] { Gemma4::load(out2, kQuiet); }, {"F8_E4M3", "quantization_config"});
}
