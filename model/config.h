#pragma once
// The Gemma 4 text decoder's configuration, read from a Hugging Face config.json, with everything the graph needs
// derived per layer (docs/model.md §1, §2.3, §2.5). Both forms are accepted: Gemma4ForCausalLM (flat, model_type
// "gemma4_text") and Gemma4ForConditionalGeneration (model_type "gemma4", text fields under "text_config").
// Missing fields take transformers' Gemma4TextConfig defaults, so a file means what it means to transformers.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gt {

enum class LayerType : uint8_t { Sliding, Full };
const char* layer_type_name(LayerType t);  // "sliding_attention" / "full_attention", as in config.json

// Rotary embedding of one layer type. inv_freq[i] = theta^(-2i/head_dim) / factor for i < rotated, 0 above.
struct RopeConfig {
  std::string type;  // "default" or "proportional"
  double theta = 10000.0;
  double factor = 1.0;
  int64_t head_dim = 0;
  int64_t rotated = 0;  // frequency pairs that rotate (head_dim / 2 for "default")
};

struct LayerConfig {
  LayerType type = LayerType::Sliding;
  int64_t head_dim = 0;
  int64_t kv_heads = 0;
  int64_t intermediate = 0;  // doubled on KV-shared layers when use_double_wide_mlp
  bool kv_shared = false;  // reads the keys/values of layer kv_source instead of computing its own
  int64_t kv_source = 0;  // the layer whose keys/values this layer attends over (itself when not shared)
};

struct Gemma4Config {
  std::string path;  // the config.json this came from (named in errors)
  bool conditional_generation = false;  // Gemma4ForConditionalGeneration form: tensors under model.language_model.
  nlohmann::ordered_json json;  // the file as read, written back unchanged by save

  int64_t vocab_size = 0, hidden_size = 0, num_layers = 0, num_heads = 0;
  int64_t sliding_window = 0;
  double rms_norm_eps = 1e-6;
  double final_logit_softcapping = 0;  // 0: none
  int64_t ple_dim = 0;  // hidden_size_per_layer_input; 0: no per-layer embeddings
  int64_t ple_vocab = 0;  // vocab_size_per_layer_input
  int64_t num_kv_shared_layers = 0;
  int64_t pad_token_id = -1;  // -1: none (no padding_idx on the embeddings)
  RopeConfig rope_sliding, rope_full;
  std::vector<LayerConfig> layers;

  const RopeConfig& rope(LayerType t) const { return t == LayerType::Sliding ? rope_sliding : rope_full; }
  int64_t first_kv_shared_layer() const { return num_layers - num_kv_shared_layers; }
};

// Parses a config.json already read; `path` is only named in messages. Unsupported settings (enable_moe_block,
// attention_k_eq_v, use_bidirectional_attention, attention_bias, untied embeddings, an activation other than
// gelu_pytorch_tanh, unknown rope types or per_layer_config keys) throw gt::Error naming the setting and the file.
Gemma4Config parse_gemma4_config(const nlohmann::ordered_json& j, const std::string& path);
// Reads DIR/config.json (or the file itself when `path` is a file).
Gemma4Config load_gemma4_config(const std::string& path);

}  // namespace gt
