#include "export/fp8.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <memory>
#include <regex>
#include <vector>

#include "autograd/parallel.h"
#include "base/error.h"
#include "base/files.h"
#include "model/checkpoint.h"
#include "model/float8.h"

namespace gt::exporter {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

struct Fp8Weight {
  std::vector<uint8_t> codes;
  Tensor scale;  // f32 [out, 1]
};

// Per output channel: scale = absmax / 448, codes = E4M3(w / scale). A row of zeros gets scale 1 (its codes are 0
// either way), so no reader ever divides by a zero scale.
Fp8Weight quantize_rows(const Tensor& weight, const std::string& name) {
  const Tensor w = weight.detach().to(Device::CPU).to(DType::F32).contiguous();
  const int64_t rows = w.shape()[0], cols = w.shape()[1];
  Fp8Weight q{std::vector<uint8_t>(static_cast<size_t>(rows * cols)), Tensor::empty({rows, 1})};
  const float* src = w.data<float>();
  float* scale = q.scale.data<float>();
  std::atomic<bool> has_nan{false};
  parallel_for(rows, 16, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* row = src + r * cols;
      float amax = 0.f;
      for (int64_t i = 0; i < cols; ++i) {
        if (std::isnan(row[i])) has_nan.store(true);
        amax = std::max(amax, std::fabs(row[i]));
      }
      if (has_nan.load()) return;
      const float s = amax > 0.f ? amax / kE4M3Max : 1.f;
      scale[r] = s;
      for (int64_t i = 0; i < cols; ++i) q.codes[static_cast<size_t>(r * cols + i)] = float_to_e4m3(row[i] / s);
    }
  });
  GT_CHECK(!has_nan.load(), "export fp8: tensor '", name, "' holds NaN, which has no FP8 code");
  return q;
}

}  // namespace

bool is_fp8_linear(const std::string& name) {
  static const std::regex linear(R"(layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.weight)");
  return std::regex_match(name, linear);
}

ordered_json fp8_quantization_config(const Gemma4Config& config) {
  // Module names, as vLLM matches them: the exact name, or "re:" and a regular expression. Only Linear modules
  // are candidates; the embeddings and norms are listed as well, so the file says in one place what stays bf16.
  std::string prefix = text_prefix(config);
  prefix.pop_back();  // "model.language_model." -> "model.language_model"
  ordered_json ignore = {"lm_head",
                         prefix + ".embed_tokens",
                         prefix + ".embed_tokens_per_layer",
                         prefix + ".per_layer_model_projection",
                         "re:.*layers\\.\\d+\\.per_layer_input_gate$",
                         "re:.*layers\\.\\d+\\.per_layer_projection$",
                         "re:.*norm$"};
  if (config.conditional_generation)
    for (const char* tower : {"vision_tower", "audio_tower", "embed_vision", "embed_audio"})
      ignore.push_back(std::string("re:model\\.") + tower + "\\..*");
  const ordered_json weights = {{"num_bits", 8},          {"type", "float"},        {"strategy", "channel"},
                                {"symmetric", true},      {"dynamic", false},       {"group_size", nullptr},
                                {"block_structure", nullptr}, {"observer", "minmax"}};
  const ordered_json activations = {{"num_bits", 8},   {"type", "float"}, {"strategy", "token"},
                                    {"dynamic", true}, {"symmetric", true}, {"group_size", nullptr},
                                    {"observer", nullptr}};
  return {{"quant_method", "compressed-tensors"},
          {"format", "float-quantized"},
          {"config_groups",
           {{"group_0",
             {{"targets", {"Linear"}},
              {"weights", weights},
              {"input_activations", activations},
              {"output_activations", nullptr},
              {"format", "float-quantized"}}}}},
          {"ignore", ignore},
          {"kv_cache_scheme", nullptr},
          {"quantization_status", "compressed"}};
}

void write_fp8_model(const Gemma4& model, const std::string& dir) {
  const Gemma4Config& config = model.config();
  const std::string prefix = text_prefix(config);
  std::vector<RawTensor> tensors;
  for (const auto& [name, t] : model.state().items()) {
    const std::string full = prefix + name;
    if (!is_fp8_linear(name)) {
      tensors.push_back(raw_tensor(full, t.detach().to(Device::CPU).to(DType::BF16)));
      continue;
    }
    auto q = std::make_shared<Fp8Weight>(quantize_rows(t, full));
    tensors.push_back({full, "F8_E4M3", t.shape(), q->codes.data(), q->codes.size(),
                       std::shared_ptr<const void>(q, q.get())});
    tensors.push_back(raw_tensor(full + "_scale", q->scale));
  }
  for (const auto& [name, t] : model.passthrough()) tensors.push_back(raw_tensor(name, t));
  ordered_json j = config.json;
  j["dtype"] = "bfloat16";
  if (j.contains("text_config") && j["text_config"].is_object()) j["text_config"]["dtype"] = "bfloat16";
  j["quantization_config"] = fp8_quantization_config(config);
  fs::create_directories(dir);
  write_checkpoint_tensors(dir, tensors);
  write_file_atomically(fs::path(dir) / "config.json", j.dump(2) + "\n");
}

}  // namespace gt::exporter
