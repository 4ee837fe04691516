// Loading, saving and the parameter layout of the Gemma 4 text decoder. The graph itself is in gemma4_forward.cpp.
#include "model/gemma4.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <regex>
#include <sstream>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "base/checked.h"
#include "base/error.h"
#include "base/files.h"
#include "model/checkpoint.h"
#include "model/float8.h"

namespace gt {

namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

Tensor convert(const Tensor& t, StoragePolicy policy) {
  if (policy == StoragePolicy::F32 && t.dtype() != DType::F32) return t.to(DType::F32);
  if (policy == StoragePolicy::BF16 && t.dtype() != DType::BF16) return t.to(DType::BF16);
  return t;
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  if (a.dtype() == b.dtype() && a.is_contiguous() && b.is_contiguous())
    return std::memcmp(a.raw(), b.raw(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
  return a.to_floats() == b.to_floats();
}

// Whether a float tensor (f32 or bf16, contiguous, on the CPU) holds no NaN and no infinity: tested on the exponent
// bits, in one parallel pass.
bool all_finite(const Tensor& t) {
  if (t.dtype() != DType::F32 && t.dtype() != DType::BF16) return true;
  std::atomic<bool> bad{false};
  const bool f32 = t.dtype() == DType::F32;
  const auto* p32 = static_cast<const uint32_t*>(t.raw());
  const auto* p16 = static_cast<const uint16_t*>(t.raw());
  parallel_for(t.numel(), int64_t{1} << 16, [&](int64_t b, int64_t e) {
    bool found = false;
    if (f32)
      for (int64_t i = b; i < e; ++i) found |= (p32[i] & 0x7f800000u) == 0x7f800000u;
    else
      for (int64_t i = b; i < e; ++i) found |= (p16[i] & 0x7f80u) == 0x7f80u;
    if (found) bad.store(true, std::memory_order_relaxed);
  });
  return !bad.load();
}

const char* torch_dtype_name(DType t) { return t == DType::BF16 ? "bfloat16" : "float32"; }

// An FP8 export's linear weight (docs/export.md): F8_E4M3 codes times `<name>_scale`, dequantized to f32 as
// torch's `weight.float() * scale` does. Only the compressed-tensors float-quantized form is read.
Tensor read_fp8(const CheckpointReader& ckpt, const std::string& full, const Gemma4Config& config,
                std::map<std::string, bool>& used) {
  const auto q = config.json.find("quantization_config");
  GT_CHECK(q != config.json.end() && q->is_object() && q->value("quant_method", "") == "compressed-tensors" &&
               q->value("format", "") == "float-quantized",
           ckpt.file_of(full), ": tensor '", full, "' is F8_E4M3, but ", config.path,
           " has no quantization_config with quant_method \"compressed-tensors\" and format \"float-quantized\"");
  const std::string scale = full + "_scale";
  GT_CHECK(ckpt.contains(scale), ckpt.file_of(full), ": tensor '", full, "' is F8_E4M3 but '", scale,
           "' is missing");
  const auto& se = ckpt.entry(scale);
  GT_CHECK(se.dtype == "F32" || se.dtype == "BF16" || se.dtype == "F16", ckpt.file_of(scale), ": tensor '", scale,
           "' is ", se.dtype, "; scales must be F32, BF16 or F16");
  used[scale] = true;
  return dequantize_fp8(ckpt.get(full), ckpt.get(scale).to(DType::F32), ckpt.file_of(full) + ": tensor '" + full + "'");
}

}  // namespace

const char* text_prefix(const Gemma4Config& config) {
  return config.conditional_generation ? "model.language_model." : "model.";
}

std::vector<std::pair<std::string, Shape>> Gemma4::expected_shapes() const {
  const Gemma4Config& c = config_;
  const int64_t d = c.hidden_size, L = c.num_layers, P = c.ple_dim;
  std::vector<std::pair<std::string, Shape>> out;
  out.emplace_back("embed_tokens.weight", Shape{c.vocab_size, d});
  if (P) {
    out.emplace_back("embed_tokens_per_layer.weight", Shape{c.ple_vocab, L * P});
    out.emplace_back("per_layer_model_projection.weight", Shape{L * P, d});
    out.emplace_back("per_layer_projection_norm.weight", Shape{P});
  }
  for (int64_t l = 0; l < L; ++l) {
    const LayerConfig& lc = c.layers[static_cast<size_t>(l)];
    const std::string p = "layers." + std::to_string(l) + ".";
    const int64_t q = c.num_heads * lc.head_dim, kv = lc.kv_heads * lc.head_dim;
    out.emplace_back(p + "input_layernorm.weight", Shape{d});
    out.emplace_back(p + "self_attn.q_proj.weight", Shape{q, d});
    out.emplace_back(p + "self_attn.q_norm.weight", Shape{lc.head_dim});
    if (!lc.kv_shared) {
      out.emplace_back(p + "self_attn.k_proj.weight", Shape{kv, d});
      out.emplace_back(p + "self_attn.v_proj.weight", Shape{kv, d});
      out.emplace_back(p + "self_attn.k_norm.weight", Shape{lc.head_dim});
    }
    out.emplace_back(p + "self_attn.o_proj.weight", Shape{d, q});
    out.emplace_back(p + "post_attention_layernorm.weight", Shape{d});
    out.emplace_back(p + "pre_feedforward_layernorm.weight", Shape{d});
    out.emplace_back(p + "mlp.gate_proj.weight", Shape{lc.intermediate, d});
    out.emplace_back(p + "mlp.up_proj.weight", Shape{lc.intermediate, d});
    out.emplace_back(p + "mlp.down_proj.weight", Shape{d, lc.intermediate});
    out.emplace_back(p + "post_feedforward_layernorm.weight", Shape{d});
    if (P) {
      out.emplace_back(p + "per_layer_input_gate.weight", Shape{P, d});
      out.emplace_back(p + "per_layer_projection.weight", Shape{d, P});
      out.emplace_back(p + "post_per_layer_input_norm.weight", Shape{d});
    }
    out.emplace_back(p + "layer_scalar", Shape{1});
  }
  out.emplace_back("norm.weight", Shape{d});
  return out;
}

void Gemma4::build_handles() {
  auto get = [&](const std::string& n) { return state_.contains(n) ? state_.at(n) : Tensor(); };
  embed_tokens = get("embed_tokens.weight");
  embed_tokens_per_layer = get("embed_tokens_per_layer.weight");
  per_layer_model_projection = get("per_layer_model_projection.weight");
  per_layer_projection_norm = get("per_layer_projection_norm.weight");
  norm = get("norm.weight");
  if (embed_tokens_per_layer.defined()) set_sparse_grad(state_.at("embed_tokens_per_layer.weight"));
  layers_.clear();
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    Gemma4Layer y;
    y.input_layernorm = get(p + "input_layernorm.weight");
    y.post_attention_layernorm = get(p + "post_attention_layernorm.weight");
    y.pre_feedforward_layernorm = get(p + "pre_feedforward_layernorm.weight");
    y.post_feedforward_layernorm = get(p + "post_feedforward_layernorm.weight");
    y.q_proj = get(p + "self_attn.q_proj.weight");
    y.k_proj = get(p + "self_attn.k_proj.weight");
    y.v_proj = get(p + "self_attn.v_proj.weight");
    y.o_proj = get(p + "self_attn.o_proj.weight");
    y.q_norm = get(p + "self_attn.q_norm.weight");
    y.k_norm = get(p + "self_attn.k_norm.weight");
    y.gate_proj = get(p + "mlp.gate_proj.weight");
    y.up_proj = get(p + "mlp.up_proj.weight");
    y.down_proj = get(p + "mlp.down_proj.weight");
    y.per_layer_input_gate = get(p + "per_layer_input_gate.weight");
    y.per_layer_projection = get(p + "per_layer_projection.weight");
    y.post_per_layer_input_norm = get(p + "post_per_layer_input_norm.weight");
    y.layer_scalar = get(p + "layer_scalar");
    if (adapter_)
      for (size_t i = 0; i < kLoraTargets; ++i) y.lora[i] = adapter_->weights(l, static_cast<LoraTarget>(i));
    layers_.push_back(y);
  }
}

Gemma4 Gemma4::load(const std::string& dir, const LoadOptions& options) {
  auto log = options.log ? options.log : [](const std::string& s) { std::cerr << s << "\n"; };
  Gemma4 m;
  m.config_ = load_gemma4_config(dir);
  const CheckpointReader ckpt = CheckpointReader::open(dir);

  // The prefix the config's form implies; a checkpoint of the other form is accepted if that is what it holds.
  std::string prefix = text_prefix(m.config_);
  if (!ckpt.contains(prefix + "embed_tokens.weight")) {
    const std::string other = m.config_.conditional_generation ? "model." : "model.language_model.";
    GT_CHECK(ckpt.contains(other + "embed_tokens.weight"), ckpt.source(), ": missing tensor '", prefix,
             "embed_tokens.weight' (the checkpoint has no embedding table under model. or model.language_model.)");
    prefix = other;
    m.config_.conditional_generation = !m.config_.conditional_generation;
  }

  std::map<std::string, bool> used;
  for (const auto& [name, shape] : m.expected_shapes()) {
    const std::string full = prefix + name;
    GT_CHECK(ckpt.contains(full), ckpt.source(), ": missing tensor '", full, "' (", shape_str(shape), ", required by ",
             m.config_.path, ")");
    const auto& e = ckpt.entry(full);
    GT_CHECK(e.shape == shape, ckpt.file_of(full), ": tensor '", full, "' has shape ", shape_str(e.shape), ", but ",
             m.config_.path, " implies ", shape_str(shape));
    GT_CHECK(e.dtype == "F32" || e.dtype == "BF16" || e.dtype == "F16" || e.dtype == "F8_E4M3", ckpt.file_of(full),
             ": tensor '", full, "' is ", e.dtype, "; parameters must be F32, BF16, F16 or F8_E4M3");
    const Tensor t = e.dtype == "F8_E4M3" ? read_fp8(ckpt, full, m.config_, used) : ckpt.get(full);
    // A diverged export (or a damaged file) would otherwise run and print a NaN loss with exit status 0.
    GT_CHECK(all_finite(t), ckpt.file_of(full), ": tensor '", full, "' has non-finite values (NaN or infinity)");
    m.state_.add(name, convert(t, options.storage), !ends_with(name, "layer_scalar"));
    used[full] = true;
  }

  int64_t towers = 0, tower_elems = 0, unused_kv = 0;
  const std::regex shared_kv(std::regex_replace(prefix, std::regex("\\."), "\\.") +
                             "layers\\.(\\d+)\\.self_attn\\.(k_proj|v_proj|k_norm|v_norm)\\.weight");
  for (const std::string& n : ckpt.names()) {
    if (used.count(n)) continue;
    std::smatch mt;
    if (starts_with(n, "model.vision_tower.") || starts_with(n, "model.audio_tower.") ||
        starts_with(n, "model.embed_vision.") || starts_with(n, "model.embed_audio.")) {
      ++towers;
      tower_elems += shape_numel(ckpt.entry(n).shape);
    } else if (std::regex_match(n, mt, shared_kv) &&
               parse_int64(mt[1].str()).value_or(INT64_MAX) < m.config_.num_layers &&
               m.config_.layers[static_cast<size_t>(*parse_int64(mt[1].str()))].kv_shared) {
      ++unused_kv;
    } else if (n == "lm_head.weight") {
      GT_CHECK(same_values(ckpt.get(n), ckpt.get(prefix + "embed_tokens.weight")), ckpt.file_of(n),
               ": tensor 'lm_head.weight' differs from '", prefix,
               "embed_tokens.weight'; only a head tied to the embeddings is supported");
      continue;  // transformers re-ties it on load, so saving drops it
    } else {
      fail(ckpt.file_of(n), ": unexpected tensor '", n, "' (not part of the Gemma 4 text decoder that ",
           m.config_.path, " describes)");
    }
    m.passthrough_.emplace_back(n, ckpt.get(n));
  }
  if (towers)
    log("load: skipped " + std::to_string(towers) + " vision/audio tower tensors (" + std::to_string(tower_elems) +
        " elements); they are kept for save");
  if (unused_kv)
    log("load: skipped " + std::to_string(unused_kv) + " unused k_proj/v_proj/k_norm tensors of KV-shared layers " +
        std::to_string(m.config_.first_kv_shared_layer()) + ".." + std::to_string(m.config_.num_layers - 1));
  m.build_handles();
  return m;
}

Gemma4 Gemma4::random(const Gemma4Config& config, uint64_t seed, double std) {
  Gemma4 m;
  m.config_ = config;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (const auto& [name, shape] : m.expected_shapes()) {
    Tensor t = Tensor::empty(shape);
    float* p = t.data<float>();
    const bool is_norm = ends_with(name, "norm.weight"), is_scalar = ends_with(name, "layer_scalar");
    for (int64_t i = 0; i < t.numel(); ++i)
      p[i] = is_scalar ? 1.f : is_norm ? 1.f + 0.1f * normal(rng) : static_cast<float>(std) * normal(rng);
    m.state_.add(name, t, !is_scalar);
  }
  m.build_handles();
  return m;
}

Gemma4 Gemma4::random(const Gemma4Config& config, uint64_t seed, double std, Device device, DType dtype) {
  GT_CHECK(dtype == DType::F32 || dtype == DType::BF16, "Gemma4::random: dtype must be f32 or bf16, got ",
           dtype_name(dtype));
  if (device == Device::CPU) {
    Gemma4 m = random(config, seed, std);
    NamedParameters converted;
    for (const auto& [name, t] : m.state_.items()) converted.add(name, t.detach().to(dtype), t.requires_grad());
    m.state_ = std::move(converted);
    m.build_handles();
    return m;
  }
  Gemma4 m;
  m.config_ = config;
  uint64_t index = 0;
  for (const auto& [name, shape] : m.expected_shapes()) {
    Tensor t = Tensor::empty(shape, dtype, device);
    const bool is_norm = ends_with(name, "norm.weight"), is_scalar = ends_with(name, "layer_scalar");
    cuda::fill_normal(t, seed * 0x100000001b3ull + index++, is_scalar || is_norm ? 1.f : 0.f,
                      is_scalar ? 0.f : is_norm ? 0.1f : static_cast<float>(std));
    m.state_.add(name, t, !is_scalar);
  }
  m.build_handles();
  return m;
}

void Gemma4::to(Device device) {
  if (device == this->device()) return;
  NamedParameters moved;
  for (const auto& [name, t] : state_.items()) moved.add(name, t.detach().to(device), t.requires_grad());
  state_ = std::move(moved);
  if (adapter_) adapter_->to(device);
  build_handles();
}

void Gemma4::set_adapter(LoraAdapter adapter) {
  GT_CHECK(adapter.num_layers() == config_.num_layers, "Gemma4::set_adapter: an adapter for ", adapter.num_layers(),
           " layers on a model of ", config_.num_layers);
  adapter.to(device());
  adapter_ = std::make_shared<LoraAdapter>(std::move(adapter));
  build_handles();
}

void Gemma4::freeze() {
  // Handles share their tensor's autograd record, so this reaches the layers' handles too.
  for (const auto& item : state_.items()) Tensor(item.second).requires_grad_(false);
}

void Gemma4::merge_adapter() {
  GT_CHECK(adapter_, "Gemma4::merge_adapter: no adapter attached");
  NoGradGuard no_grad;
  const double s = adapter_->config().scale();
  for (int64_t l = 0; l < config_.num_layers; ++l)
    for (size_t i = 0; i < kLoraTargets; ++i) {
      const LoraWeights& lw = adapter_->weights(l, static_cast<LoraTarget>(i));
      if (!lw.defined()) continue;
      const std::string name = lora_module_path(l, static_cast<LoraTarget>(i)) + ".weight";
      Tensor& w = state_.at(name);
      // peft's merge: W + (B @ A) * scaling, computed in f32.
      Tensor merged = add(w, scale(matmul(lw.b, lw.a), s)).to(w.dtype()).contiguous();
      merged.set_name(name);
      if (w.requires_grad()) merged.requires_grad_();
      w = merged;
    }
  adapter_.reset();
  build_handles();
}

void Gemma4::save(const std::string& dir) const { save(dir, embed_tokens.dtype()); }

void Gemma4::save(const std::string& dir, DType dtype) const {
  GT_CHECK(dtype == DType::F32 || dtype == DType::BF16, "Gemma4::save(", dir, "): dtype must be f32 or bf16, got ",
           dtype_name(dtype));
  const std::string prefix = text_prefix(config_);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : state_.items()) {
    const Tensor c = t.detach().to(dtype);
    tensors.emplace_back(prefix + name, c.to(Device::CPU));
  }
  for (const auto& p : passthrough_) tensors.push_back(p);
  fs::create_directories(dir);
  // The config is written back as read, with the dtype field telling transformers what the file now holds.
  nlohmann::ordered_json j = config_.json;
  j["dtype"] = torch_dtype_name(dtype);
  j.erase("quantization_config");  // the weights written here are dense, whatever the folder read held
  if (j.contains("text_config") && j["text_config"].is_object() && j["text_config"].contains("dtype"))
    j["text_config"]["dtype"] = torch_dtype_name(dtype);
  const std::string text = j.dump(2) + "\n";
  write_checkpoint_tensors(dir, tensors);
  write_file_atomically((fs::path(dir) / "config.json").string(), [&](std::ostream& os) { os << text; });
}

}  // namespace gt
