#include "model/config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <type_traits>

#include "base/checked.h"
#include "base/error.h"
#include "base/json_file.h"

namespace gt {

namespace {

using json = nlohmann::ordered_json;

// Bounds far beyond any real model, so that the sizes of the tables they give fit in 64 bits: token ids are 32-bit,
// and every width, head count and layer count is below 2^24.
constexpr int64_t kMaxVocab = int64_t{1} << 31, kMaxDim = int64_t{1} << 24;

// Reads an optional field: the default when absent or null, an error naming the field and file when mistyped.
template <class T>
T field(const json& j, const char* key, T def, const std::string& path) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  // nlohmann would truncate 1.5 to 1 and cast 1e30 out of range.
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    GT_CHECK(it->is_number_integer(), path, ": field '", key, "' is ", it->dump(), ", expected an integer");
  try {
    return it->get<T>();
  } catch (const std::exception& e) {
    fail(path, ": field '", key, "' has an unexpected value ", it->dump(), " (", e.what(), ")");
  }
}

void refuse_if(bool cond, const std::string& setting, const std::string& path, const char* why) {
  GT_CHECK(!cond, path, ": unsupported setting ", setting, " (", why, ")");
}

LayerType parse_layer_type(const std::string& s, const std::string& path) {
  if (s == "sliding_attention") return LayerType::Sliding;
  if (s == "full_attention") return LayerType::Full;
  fail(path, ": unsupported setting layer_types entry \"", s, "\" (only sliding_attention and full_attention)");
}

RopeConfig parse_rope(const json& params, LayerType t, int64_t head_dim, const std::string& path) {
  const std::string where = std::string("rope_parameters.") + layer_type_name(t);
  GT_CHECK(params.is_object(), path, ": ", where, " must be an object, got ", params.dump());
  RopeConfig r;
  r.type = field<std::string>(params, "rope_type", "default", path);
  r.theta = field<double>(params, "rope_theta", t == LayerType::Sliding ? 10000.0 : 1000000.0, path);
  r.head_dim = head_dim;
  if (r.type == "default") {
    // transformers' default rope ignores partial_rotary_factor and rotates every pair.
    r.rotated = head_dim / 2;
  } else if (r.type == "proportional") {
    // int(p * head_dim // 2): Python floors the float quotient; the exponent denominator stays head_dim.
    const double p = field<double>(params, "partial_rotary_factor", 1.0, path);
    r.rotated = static_cast<int64_t>(std::floor(p * static_cast<double>(head_dim) / 2.0));
    r.factor = field<double>(params, "factor", 1.0, path);
    GT_CHECK(r.rotated >= 0 && r.rotated <= head_dim / 2 && r.factor > 0, path, ": ", where,
             " has partial_rotary_factor ", p, " and factor ", r.factor, " that do not fit head_dim ", head_dim);
  } else {
    fail(path, ": unsupported setting ", where, ".rope_type=\"", r.type, "\" (only default and proportional)");
  }
  return r;
}

// Settings this graph does not implement, refused by name rather than computed wrongly.
void refuse_unsupported(const json& t, const json& root, const std::string& path, const std::string& p) {
  refuse_if(field<bool>(t, "enable_moe_block", false, p), "enable_moe_block=true", p, "no MoE block in this graph");
  refuse_if(field<bool>(t, "attention_k_eq_v", false, p), "attention_k_eq_v=true", p,
            "keys double as values only in the larger Gemma 4 models");
  if (t.contains("use_bidirectional_attention") && !t["use_bidirectional_attention"].is_null())
    fail(p, ": unsupported setting use_bidirectional_attention=", t["use_bidirectional_attention"].dump(),
         " (this graph is causal only)");
  refuse_if(field<bool>(t, "attention_bias", false, p), "attention_bias=true", p, "the decoder has no biases");
  const bool tied = field<bool>(t, "tie_word_embeddings", field<bool>(root, "tie_word_embeddings", true, path), p);
  refuse_if(!tied, "tie_word_embeddings=false", p, "the head is the embedding table");
  const std::string act = field<std::string>(t, "hidden_activation", "gelu_pytorch_tanh", p);
  refuse_if(act != "gelu_pytorch_tanh", "hidden_activation=\"" + act + "\"", p, "only gelu_pytorch_tanh");
}

// Layer types: transformers' default pattern is 5 sliding : 1 full, and it forces the last layer to be full.
std::vector<LayerType> parse_layer_types(const json& t, int64_t num_layers, const std::string& p) {
  std::vector<LayerType> types;
  if (t.contains("layer_types") && !t["layer_types"].is_null()) {
    GT_CHECK(t["layer_types"].is_array() && static_cast<int64_t>(t["layer_types"].size()) == num_layers, p,
             ": layer_types must list ", num_layers, " entries, got ", t["layer_types"].dump());
    for (const auto& s : t["layer_types"]) {
      GT_CHECK(s.is_string(), p, ": layer_types entries must be strings, got ", s.dump());
      types.push_back(parse_layer_type(s.get<std::string>(), p));
    }
  } else {
    for (int64_t i = 0; i < num_layers; ++i) types.push_back((i + 1) % 6 ? LayerType::Sliding : LayerType::Full);
  }
  types.back() = LayerType::Full;
  return types;
}

// per_layer_config {"<layer>": {"head_dim", "num_key_value_heads"}}: overrides of the head size and KV heads.
void parse_per_layer_config(const json& plc, int64_t num_layers, const std::string& p, std::vector<int64_t>& hd,
                            std::vector<int64_t>& kvh) {
  GT_CHECK(plc.is_object(), p, ": per_layer_config must be an object, got ", plc.dump());
  for (auto it = plc.begin(); it != plc.end(); ++it) {
    const int64_t l = parse_int64(it.key()).value_or(-1);
    GT_CHECK(l >= 0 && l < num_layers, p, ": per_layer_config key \"", it.key(), "\" is not a layer index below ",
             num_layers);
    GT_CHECK(it->is_object(), p, ": per_layer_config.", it.key(), " must be an object");
    for (auto f = it->begin(); f != it->end(); ++f) {
      const bool known = f.key() == "head_dim" || f.key() == "num_key_value_heads";
      if (!known)
        fail(p, ": unsupported setting per_layer_config.", it.key(), ".", f.key(),
             " (only head_dim and num_key_value_heads)");
      // Checked before get<>, which throws a bare json type_error (found by fuzz_model_config).
      GT_CHECK(f->is_number_integer(), p, ": per_layer_config.", it.key(), ".", f.key(), " must be an integer, got ",
               f->dump());
      (f.key() == "head_dim" ? hd : kvh)[static_cast<size_t>(l)] = f->get<int64_t>();
    }
  }
}

// One rotary table per layer type present, for that type's head size.
void parse_rope_parameters(const json& t, const int64_t (&type_head_dim)[2], const std::string& p, Gemma4Config& c) {
  json rope = t.contains("rope_parameters") && !t["rope_parameters"].is_null() ? t["rope_parameters"] : json();
  if (rope.is_null()) {
    rope = json{{"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
                {"full_attention", {{"rope_type", "proportional"}, {"partial_rotary_factor", 0.25},
                                    {"rope_theta", 1000000.0}}}};
  }
  GT_CHECK(rope.is_object(), p, ": rope_parameters must be an object");
  for (LayerType lt : {LayerType::Sliding, LayerType::Full}) {
    const int64_t dim = type_head_dim[static_cast<int>(lt)];
    if (dim == 0) continue;  // no layer of this type
    GT_CHECK(rope.contains(layer_type_name(lt)), p, ": rope_parameters has no entry for ", layer_type_name(lt));
    (lt == LayerType::Sliding ? c.rope_sliding : c.rope_full) = parse_rope(rope[layer_type_name(lt)], lt, dim, p);
  }
}

}  // namespace

const char* layer_type_name(LayerType t) { return t == LayerType::Sliding ? "sliding_attention" : "full_attention"; }

Gemma4Config parse_gemma4_config(const json& root, const std::string& path) {
  GT_CHECK(root.is_object(), path, ": config.json is not a JSON object");
  Gemma4Config c;
  c.path = path;
  c.json = root;
  const std::string model_type = field<std::string>(root, "model_type", "", path);
  const bool nested = root.contains("text_config") && !root["text_config"].is_null();
  if (model_type == "gemma4" || nested) {
    GT_CHECK(nested, path, ": model_type gemma4 without a text_config");
    c.conditional_generation = true;
  } else {
    GT_CHECK(model_type == "gemma4_text", path, ": model_type \"", model_type,
             "\" is not a Gemma 4 text model (want gemma4_text, or gemma4 with a text_config)");
  }
  const json& t = c.conditional_generation ? root["text_config"] : root;
  const std::string p = c.conditional_generation ? path + " (text_config)" : path;

  refuse_unsupported(t, root, path, p);

  c.vocab_size = field<int64_t>(t, "vocab_size", 262144, p);
  c.hidden_size = field<int64_t>(t, "hidden_size", 2304, p);
  const int64_t intermediate = field<int64_t>(t, "intermediate_size", 9216, p);
  c.num_layers = field<int64_t>(t, "num_hidden_layers", 30, p);
  c.num_heads = field<int64_t>(t, "num_attention_heads", 8, p);
  const int64_t kv_heads = field<int64_t>(t, "num_key_value_heads", 4, p);
  const int64_t head_dim = field<int64_t>(t, "head_dim", 256, p);
  c.sliding_window = field<int64_t>(t, "sliding_window", 512, p);
  c.rms_norm_eps = field<double>(t, "rms_norm_eps", 1e-6, p);
  c.final_logit_softcapping = field<double>(t, "final_logit_softcapping", 0.0, p);
  c.ple_dim = field<int64_t>(t, "hidden_size_per_layer_input", 256, p);
  c.ple_vocab = field<int64_t>(t, "vocab_size_per_layer_input", 262144, p);
  c.num_kv_shared_layers = field<int64_t>(t, "num_kv_shared_layers", 0, p);
  // A null pad_token_id means no padding_idx on the embeddings; an absent one is transformers' default 0.
  c.pad_token_id = t.contains("pad_token_id") && t["pad_token_id"].is_null() ? -1 : field<int64_t>(t, "pad_token_id", 0, p);
  const bool double_wide = field<bool>(t, "use_double_wide_mlp", false, p);
  GT_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && intermediate > 0 && c.num_layers > 0 && c.num_heads > 0 &&
               kv_heads > 0 && head_dim > 0 && head_dim % 2 == 0 && c.sliding_window > 0 && c.ple_dim >= 0 &&
               (c.ple_dim == 0 || c.ple_vocab > 0) && c.vocab_size < kMaxVocab && c.ple_vocab < kMaxVocab &&
               std::max({c.hidden_size, intermediate, c.num_layers, c.num_heads, kv_heads, head_dim, c.ple_dim}) <=
                   kMaxDim,
           p, ": sizes out of range (vocab ", c.vocab_size, ", hidden ", c.hidden_size, ", intermediate ",
           intermediate, ", layers ", c.num_layers, ", heads ", c.num_heads, "/", kv_heads, ", head_dim ", head_dim,
           ", sliding_window ", c.sliding_window, ", per-layer input ", c.ple_dim, ")");
  GT_CHECK(c.pad_token_id >= -1 && c.pad_token_id < c.vocab_size, p, ": pad_token_id ", c.pad_token_id,
           " out of range for vocab_size ", c.vocab_size);

  const std::vector<LayerType> types = parse_layer_types(t, c.num_layers, p);

  // Head size and KV heads per layer. transformers 5.17 spells overrides as per_layer_config {"<layer>": {...}};
  // without it, full layers take global_head_dim (default 512). num_global_key_value_heads only applies with
  // attention_k_eq_v, which is refused above, so it is ignored here as transformers ignores it.
  std::vector<int64_t> hd(static_cast<size_t>(c.num_layers), head_dim), kvh(static_cast<size_t>(c.num_layers), kv_heads);
  if (t.contains("per_layer_config") && !t["per_layer_config"].is_null()) {
    parse_per_layer_config(t["per_layer_config"], c.num_layers, p, hd, kvh);
  } else {
    const int64_t global = field<int64_t>(t, "global_head_dim", 512, p);
    for (int64_t l = 0; l < c.num_layers; ++l)
      if (types[static_cast<size_t>(l)] == LayerType::Full && global > 0) hd[static_cast<size_t>(l)] = global;
  }

  GT_CHECK(c.num_kv_shared_layers >= 0 && c.num_kv_shared_layers < c.num_layers, p, ": num_kv_shared_layers ",
           c.num_kv_shared_layers, " must leave at least one layer with its own keys and values (of ", c.num_layers,
           ")");
  const int64_t first_shared = c.first_kv_shared_layer();
  int64_t type_head_dim[2] = {0, 0};
  for (int64_t l = 0; l < c.num_layers; ++l) {
    LayerConfig lc;
    lc.type = types[static_cast<size_t>(l)];
    lc.head_dim = hd[static_cast<size_t>(l)];
    lc.kv_heads = kvh[static_cast<size_t>(l)];
    GT_CHECK(lc.head_dim > 0 && lc.head_dim % 2 == 0 && lc.kv_heads > 0 && c.num_heads % lc.kv_heads == 0, p,
             ": layer ", l, " has head_dim ", lc.head_dim, " and ", lc.kv_heads, " KV heads for ", c.num_heads,
             " query heads");
    int64_t& th = type_head_dim[static_cast<int>(lc.type)];
    GT_CHECK(th == 0 || th == lc.head_dim, p, ": layers of type ", layer_type_name(lc.type),
             " have different head sizes (", th, " and ", lc.head_dim, "); one rotary table per type needs one");
    th = lc.head_dim;
    lc.kv_shared = l >= first_shared;
    lc.kv_source = l;
    if (lc.kv_shared) {
      lc.kv_source = -1;
      for (int64_t s = first_shared - 1; s >= 0; --s)
        if (types[static_cast<size_t>(s)] == lc.type) {
          lc.kv_source = s;
          break;
        }
      GT_CHECK(lc.kv_source >= 0, p, ": KV-shared layer ", l, " (", layer_type_name(lc.type),
               ") has no earlier layer of its type to take keys and values from");
      const LayerConfig& src = c.layers[static_cast<size_t>(lc.kv_source)];
      GT_CHECK(src.head_dim == lc.head_dim && src.kv_heads == lc.kv_heads, p, ": KV-shared layer ", l,
               " does not match the head size / KV heads of its source layer ", lc.kv_source);
    }
    lc.intermediate = intermediate * (double_wide && lc.kv_shared ? 2 : 1);
    c.layers.push_back(lc);
  }

  parse_rope_parameters(t, type_head_dim, p, c);
  return c;
}

Gemma4Config load_gemma4_config(const std::string& path_in) {
  namespace fs = std::filesystem;
  const std::string path = fs::is_directory(path_in) ? (fs::path(path_in) / "config.json").string() : path_in;
  return parse_gemma4_config(read_json_file(path), path);
}

}  // namespace gt
