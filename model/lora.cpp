// LoRA adapters: the adapted linear, creation, and peft's folder layout (docs/lora.md).
#include "model/lora.h"

#include <cmath>
#include <filesystem>
#include <regex>

#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "model/gemma4.h"
#include "model/safetensors.h"

namespace gt {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kKeyPrefix = "base_model.model.";

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A uniform float in [0, 1) from the top 24 bits of a hash.
float unit(uint64_t h) { return static_cast<float>(h >> 40) * 0x1p-24f; }

// Inverted dropout's multiplier per element: 0 with probability p, else 1 / (1 - p) (nn.Dropout's scaling).
Tensor dropout_mask(const Shape& shape, double p, uint64_t key) {
  Tensor m = Tensor::empty(shape);
  float* d = m.data<float>();
  const float keep = static_cast<float>(1.0 / (1.0 - p)), pf = static_cast<float>(p);
  parallel_for(m.numel(), int64_t{1} << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = unit(mix64(key ^ mix64(static_cast<uint64_t>(i)))) < pf ? 0.f : keep;
  });
  return m;
}

const Tensor& linear_of(const Gemma4Layer& w, LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return w.q_proj;
    case LoraTarget::K: return w.k_proj;
    case LoraTarget::V: return w.v_proj;
    case LoraTarget::O: return w.o_proj;
    case LoraTarget::Gate: return w.gate_proj;
    case LoraTarget::Up: return w.up_proj;
    case LoraTarget::Down: return w.down_proj;
  }
  fail("lora: unknown target");
}

std::optional<LoraTarget> target_named(const std::string& name) {
  for (size_t i = 0; i < kLoraTargets; ++i)
    if (name == lora_target_name(static_cast<LoraTarget>(i))) return static_cast<LoraTarget>(i);
  return std::nullopt;
}

std::string param_name(int64_t layer, LoraTarget t, char which) {
  return lora_module_path(layer, t) + ".lora_" + which + ".weight";
}

// peft's check_target_module_exists: a regex must match the whole path; a list entry matches the path itself or a
// suffix starting after a dot.
class TargetMatcher {
 public:
  explicit TargetMatcher(const LoraConfig& c) : c_(c) {
    if (c.target_regex) re_ = std::regex(*c.target_regex);
  }
  bool operator()(const std::string& path) const {
    if (c_.target_regex) return std::regex_match(path, re_);
    for (const std::string& t : c_.target_modules)
      if (path == t || (path.size() > t.size() && path.compare(path.size() - t.size(), t.size(), t) == 0 &&
                        path[path.size() - t.size() - 1] == '.'))
        return true;
    return false;
  }

 private:
  const LoraConfig& c_;
  std::regex re_;
};

// Kaiming-uniform with a = sqrt(5) on a [r, in] weight: gain sqrt(2 / (1 + 5)) times sqrt(3 / in) = 1 / sqrt(in).
Tensor kaiming_a(int64_t r, int64_t in, uint64_t seed) {
  Tensor a = Tensor::empty({r, in});
  float* p = a.data<float>();
  const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(in)));
  for (int64_t i = 0; i < a.numel(); ++i)
    p[i] = (2.f * unit(mix64(seed ^ mix64(static_cast<uint64_t>(i)))) - 1.f) * bound;
  return a;
}

void check_unsupported(const json& j, const std::string& file) {
  auto is_true = [&](const char* k) { return j.contains(k) && j[k].is_boolean() && j[k].get<bool>(); };
  auto non_empty = [&](const char* k) { return j.contains(k) && !j[k].is_null() && !j[k].empty(); };
  GT_CHECK(!j.contains("peft_type") || j["peft_type"] == "LORA", file, ": peft_type ",
           j.value("peft_type", json()).dump(), " is not LORA");
  GT_CHECK(!is_true("use_dora"), file, ": use_dora is true; DoRA adapters are not supported");
  GT_CHECK(!non_empty("modules_to_save"), file, ": modules_to_save is set; only LoRA weights are supported");
  GT_CHECK(!j.contains("bias") || j["bias"] == "none", file, ": bias ", j.value("bias", json()).dump(),
           "; only \"none\" is supported");
  GT_CHECK(!is_true("fan_in_fan_out"), file, ": fan_in_fan_out is true; Gemma 4's linears store [out, in]");
  GT_CHECK(!non_empty("rank_pattern") && !non_empty("alpha_pattern"), file,
           ": rank_pattern / alpha_pattern are not supported (one r and lora_alpha for every module)");
}

LoraConfig read_adapter_config(const std::string& file) {
  const json j = read_json_file(file);
  GT_CHECK(j.is_object(), file, ": not a JSON object");
  check_unsupported(j, file);
  LoraConfig c;
  auto number = [&](const char* k, double def) {
    if (!j.contains(k)) return def;
    GT_CHECK(j[k].is_number(), file, ": '", k, "' must be a number, got ", j[k].dump());
    return j[k].get<double>();
  };
  GT_CHECK(j.contains("r") && j["r"].is_number_integer(), file, ": 'r' must be an integer");
  c.r = j["r"].get<int64_t>();
  c.lora_alpha = number("lora_alpha", 8);
  c.lora_dropout = number("lora_dropout", 0);
  if (j.contains("use_rslora")) {
    GT_CHECK(j["use_rslora"].is_boolean(), file, ": 'use_rslora' must be true or false");
    c.use_rslora = j["use_rslora"].get<bool>();
  }
  if (j.contains("target_modules") && !j["target_modules"].is_null())
    set_lora_targets(c, j["target_modules"], file + ": 'target_modules'");
  c.check(file);
  return c;
}

}  // namespace

const char* lora_target_name(LoraTarget t) {
  static const char* names[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return names[static_cast<size_t>(t)];
}

std::string lora_module_path(int64_t layer, LoraTarget t) {
  const char* parent = t <= LoraTarget::O ? "self_attn" : "mlp";
  return "layers." + std::to_string(layer) + "." + parent + "." + lora_target_name(t);
}

double LoraConfig::scale() const {
  return lora_alpha / (use_rslora ? std::sqrt(static_cast<double>(r)) : static_cast<double>(r));
}

void LoraConfig::check(const std::string& where) const {
  GT_CHECK(r >= 1 && r <= 65536, where, ": lora r must be in 1..65536, got ", r);
  GT_CHECK(std::isfinite(lora_alpha) && lora_alpha > 0, where, ": lora_alpha must be > 0, got ", lora_alpha);
  GT_CHECK(lora_dropout >= 0 && lora_dropout < 1, where, ": lora_dropout must be in [0, 1), got ", lora_dropout);
  if (target_regex) {
    try {
      (void)std::regex(*target_regex);
    } catch (const std::regex_error& e) {
      fail(where, ": target_modules regex '", *target_regex, "' does not compile (", e.what(), ")");
    }
  } else {
    GT_CHECK(!target_modules.empty(), where, ": target_modules is empty");
  }
}

json LoraConfig::targets_json() const { return target_regex ? json(*target_regex) : json(target_modules); }

void set_lora_targets(LoraConfig& c, const json& v, const std::string& where) {
  if (v.is_string()) {
    c.target_regex = v.get<std::string>();
    c.target_modules.clear();
    return;
  }
  GT_CHECK(v.is_array() && !v.empty(), where, " must be a non-empty list of module names or one regex string, got ",
           v.dump());
  c.target_regex.reset();
  c.target_modules.clear();
  for (const json& e : v) {
    GT_CHECK(e.is_string() && !e.get<std::string>().empty(), where, ": every entry must be a module name, got ",
             e.dump());
    c.target_modules.push_back(e.get<std::string>());
  }
}

uint64_t lora_init_seed(uint64_t run_seed) { return mix64(run_seed ^ 0x4c4f5241494e4954ull); }  // "LORAINIT"

uint64_t lora_dropout_key(uint64_t run_seed, int64_t steps_done, int64_t micro) {
  return mix64(mix64(run_seed ^ 0x4c4f524144524f50ull) ^ mix64(static_cast<uint64_t>(steps_done)) ^  // "LORADROP"
               static_cast<uint64_t>(micro));
}

Tensor lora_linear(const Tensor& x, const Tensor& w, const LoraWeights& lora, const LoraRun* run, uint64_t site) {
  const Tensor y = linear(x, w);
  if (!run || !lora.defined()) return y;
  Tensor in = x;
  if (run->dropout_key && run->dropout > 0)
    in = mul(x, dropout_mask(x.shape(), run->dropout, mix64(*run->dropout_key ^ mix64(site))).to(x.device()));
  // peft's order: result + lora_B(lora_A(dropout(x))) * scaling.
  return add(y, scale(linear(linear(in, lora.a), lora.b), run->scale));
}

LoraAdapter LoraAdapter::create(const Gemma4& model, const LoraConfig& config, uint64_t seed) {
  config.check("lora");
  LoraAdapter a;
  a.config_ = config;
  a.layers_.resize(static_cast<size_t>(model.config().num_layers));
  const std::string prefix = text_prefix(model.config());
  const TargetMatcher matches(config);
  // Linears of the text decoder that peft could target but this adapter does not support.
  std::vector<std::string> other{"per_layer_model_projection"};
  for (int64_t l = 0; l < model.config().num_layers; ++l) {
    other.push_back("layers." + std::to_string(l) + ".per_layer_input_gate");
    other.push_back("layers." + std::to_string(l) + ".per_layer_projection");
  }
  for (const std::string& o : other)
    GT_CHECK(!model.config().ple_dim || !matches(prefix + o), "lora: target_modules ", config.targets_json().dump(),
             " matches '", prefix, o, "'; adapters go on q/k/v/o_proj and gate/up/down_proj only");
  for (int64_t l = 0; l < model.config().num_layers; ++l)
    for (size_t i = 0; i < kLoraTargets; ++i) {
      const auto t = static_cast<LoraTarget>(i);
      const Tensor& w = linear_of(model.layer(l), t);
      const std::string path = lora_module_path(l, t);
      if (!w.defined() || !matches(prefix + path)) continue;  // k/v of a KV-shared layer: no such linear
      const std::string full = prefix + path;
      a.add(l, t, kaiming_a(config.r, w.size(1), seed ^ fnv1a(full.data(), full.size())),
            Tensor::zeros({w.size(0), config.r}));
    }
  GT_CHECK(a.state_.size() > 0, "lora: target_modules ", config.targets_json().dump(),
           " matches none of the model's q/k/v/o/gate/up/down_proj linears (module paths like '", prefix,
           lora_module_path(0, LoraTarget::Q), "')");
  a.build_handles();
  return a;
}

LoraAdapter LoraAdapter::load(const std::string& dir, const Gemma4& model) {
  const std::string cfg = (fs::path(dir) / "adapter_config.json").string();
  const std::string file = (fs::path(dir) / "adapter_model.safetensors").string();
  GT_CHECK(fs::exists(cfg), dir, ": not a LoRA adapter folder (no adapter_config.json)");
  GT_CHECK(fs::exists(file), dir, ": no adapter_model.safetensors");
  LoraAdapter a;
  a.config_ = read_adapter_config(cfg);
  a.layers_.resize(static_cast<size_t>(model.config().num_layers));
  const SafetensorsFile st = SafetensorsFile::open(file);
  const std::regex key(
      R"(base_model\.model\.model\.(language_model\.)?layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_A\.weight)");
  for (const auto& e : st.entries()) {
    std::smatch m;
    if (e.name.find(".lora_B.") != std::string::npos) {
      std::string a_name = e.name;
      a_name.replace(a_name.find(".lora_B."), 8, ".lora_A.");
      GT_CHECK(st.contains(a_name), file, ": '", e.name, "' has no matching lora_A");
      continue;
    }
    GT_CHECK(std::regex_match(e.name, m, key), file, ": unexpected tensor '", e.name,
             "' (expected base_model.model.<text decoder module>.lora_A/lora_B.weight)");
    const std::optional<int64_t> layer = parse_int64(m[2].str());
    const std::optional<LoraTarget> t = target_named(m[4].str());
    GT_CHECK(layer && *layer < model.config().num_layers && t, file, ": '", e.name,
             "' is not a q/k/v/o/gate/up/down_proj linear of this ", model.config().num_layers, "-layer model");
    GT_CHECK(m[3].str() == (*t <= LoraTarget::O ? "self_attn" : "mlp"), file, ": unexpected tensor '", e.name, "'");
    const Tensor& w = linear_of(model.layer(*layer), *t);
    GT_CHECK(w.defined(), file, ": '", e.name, "' adapts ", lora_target_name(*t), " of KV-shared layer ", *layer,
             ", which has none");
    std::string b_name = e.name;
    b_name.replace(b_name.rfind(".lora_A."), 8, ".lora_B.");
    GT_CHECK(st.contains(b_name), file, ": '", e.name, "' has no matching lora_B ('", b_name, "')");
    const Shape sa{a.config_.r, w.size(1)}, sb{w.size(0), a.config_.r};
    GT_CHECK(st.entry(e.name).shape == sa && st.entry(b_name).shape == sb, file, ": '", e.name, "' / lora_B are ",
             shape_str(st.entry(e.name).shape), " / ", shape_str(st.entry(b_name).shape), ", but r = ",
             a.config_.r, " and the base weight ", shape_str(w.shape()), " need ", shape_str(sa), " / ",
             shape_str(sb));
    a.add(*layer, *t, st.get(e.name).to(DType::F32).contiguous(), st.get(b_name).to(DType::F32).contiguous());
  }
  GT_CHECK(a.state_.size() > 0, file, ": holds no LoRA weights");
  a.build_handles();
  return a;
}

void LoraAdapter::save(const std::string& dir, const std::string& prefix, const std::string& base_model) const {
  fs::create_directories(dir);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : state_.items())
    tensors.emplace_back(kKeyPrefix + prefix + name, t.detach().to(Device::CPU).to(DType::F32));
  save_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}});
  const json j = {{"peft_type", "LORA"},
                  {"task_type", "CAUSAL_LM"},
                  {"base_model_name_or_path", base_model},
                  {"r", config_.r},
                  {"lora_alpha", config_.lora_alpha},
                  {"lora_dropout", config_.lora_dropout},
                  {"target_modules", config_.targets_json()},
                  {"bias", "none"},
                  {"use_rslora", config_.use_rslora},
                  {"use_dora", false},
                  {"modules_to_save", nullptr},
                  {"fan_in_fan_out", false},
                  {"inference_mode", true},
                  {"rank_pattern", json::object()},
                  {"alpha_pattern", json::object()}};
  write_file_atomically(fs::path(dir) / "adapter_config.json", j.dump(2) + "\n");
}

const LoraWeights& LoraAdapter::weights(int64_t layer, LoraTarget t) const {
  return layers_.at(static_cast<size_t>(layer))[static_cast<size_t>(t)];
}

void LoraAdapter::to(Device device) {
  NamedParameters moved;
  for (const auto& [name, t] : state_.items()) moved.add(name, t.detach().to(device), t.requires_grad());
  state_ = std::move(moved);
  build_handles();
}

void LoraAdapter::add(int64_t layer, LoraTarget t, Tensor a, Tensor b) {
  state_.add(param_name(layer, t, 'A'), std::move(a));
  state_.add(param_name(layer, t, 'B'), std::move(b));
}

void LoraAdapter::build_handles() {
  for (size_t l = 0; l < layers_.size(); ++l)
    for (size_t i = 0; i < kLoraTargets; ++i) {
      const auto t = static_cast<LoraTarget>(i);
      const auto l64 = static_cast<int64_t>(l);
      LoraWeights& w = layers_[l][i];
      w = {};
      if (state_.contains(param_name(l64, t, 'A')))
        w = {state_.at(param_name(l64, t, 'A')), state_.at(param_name(l64, t, 'B'))};
    }
}

}  // namespace gt
