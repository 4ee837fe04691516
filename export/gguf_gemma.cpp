#include "export/gguf_gemma.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <map>
#include <regex>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "data/tokenizer.h"
#include "export/gguf_writer.h"

namespace gt::exporter {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// llama.cpp's token types.
enum : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

const std::string kArch = "gemma4";

// config.json's text part: the file itself, or its text_config (Gemma4ForConditionalGeneration).
const nlohmann::ordered_json& text_json(const Gemma4Config& c) {
  return c.json.contains("text_config") && c.json["text_config"].is_object() ? c.json["text_config"] : c.json;
}

void add_hparams(GgufWriter& w, const Gemma4Config& c) {
  const auto L = static_cast<size_t>(c.num_layers);
  std::vector<int32_t> ff(L), kv(L);
  std::vector<bool> swa(L);
  int64_t hd_full = 0, hd_swa = 0;
  for (size_t l = 0; l < L; ++l) {
    const LayerConfig& lc = c.layers[l];
    ff[l] = static_cast<int32_t>(lc.intermediate);
    kv[l] = static_cast<int32_t>(lc.kv_heads);
    swa[l] = lc.type == LayerType::Sliding;
    (swa[l] ? hd_swa : hd_full) = lc.head_dim;
  }
  if (!hd_full) hd_full = hd_swa;
  if (!hd_swa) hd_swa = hd_full;
  const auto same = [](const std::vector<int32_t>& v) { return std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end(); };
  const std::string a = kArch + ".";
  const auto ctx = text_json(c).find("max_position_embeddings");
  const bool has_ctx = ctx != text_json(c).end() && !ctx->is_null();
  GT_CHECK(!has_ctx || (ctx->is_number_unsigned() && ctx->get<uint64_t>() <= UINT32_MAX), c.path,
           ": max_position_embeddings is not an integer from 0 to 2^32-1: ", has_ctx ? ctx->dump() : "");
  w.add_u32(a + "context_length", has_ctx ? ctx->get<uint32_t>() : 131072u);  // transformers' default
  w.add_u32(a + "embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.add_u32(a + "block_count", static_cast<uint32_t>(c.num_layers));
  if (same(ff)) w.add_u32(a + "feed_forward_length", static_cast<uint32_t>(ff[0]));
  else w.add_i32_array(a + "feed_forward_length", ff);  // the double-wide MLP of KV-shared layers
  w.add_u32(a + "attention.head_count", static_cast<uint32_t>(c.num_heads));
  if (same(kv)) w.add_u32(a + "attention.head_count_kv", static_cast<uint32_t>(kv[0]));
  else w.add_i32_array(a + "attention.head_count_kv", kv);
  w.add_u32(a + "attention.key_length", static_cast<uint32_t>(hd_full));
  w.add_u32(a + "attention.value_length", static_cast<uint32_t>(hd_full));
  w.add_u32(a + "attention.key_length_swa", static_cast<uint32_t>(hd_swa));
  w.add_u32(a + "attention.value_length_swa", static_cast<uint32_t>(hd_swa));
  w.add_f32(a + "attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.add_u32(a + "attention.sliding_window", static_cast<uint32_t>(c.sliding_window));
  w.add_bool_array(a + "attention.sliding_window_pattern", swa);
  w.add_u32(a + "attention.shared_kv_layers", static_cast<uint32_t>(c.num_kv_shared_layers));
  w.add_u32(a + "embedding_length_per_layer_input", static_cast<uint32_t>(c.ple_dim));
  if (c.final_logit_softcapping > 0)
    w.add_f32(a + "final_logit_softcapping", static_cast<float>(c.final_logit_softcapping));
  // Full layers rotate with the frequencies of a head_dim-wide rope, scaled and cut off by rope_freqs (below).
  GT_CHECK(c.rope_sliding.factor == 1.0, c.path, ": sliding_attention rope factor ", c.rope_sliding.factor,
           " has no GGUF key");
  w.add_f32(a + "rope.freq_base", static_cast<float>(c.rope_full.theta));
  w.add_f32(a + "rope.freq_base_swa", static_cast<float>(c.rope_sliding.theta));
  w.add_u32(a + "rope.dimension_count", static_cast<uint32_t>(hd_full));
  w.add_u32(a + "rope.dimension_count_swa", static_cast<uint32_t>(2 * c.rope_sliding.rotated));
}

// llama.cpp divides each full-layer frequency theta^(-2i/head_dim) by rope_freqs[i]: our factor for the pairs
// that rotate, 1e30 (no rotation) for the rest (docs/model.md's proportional rope).
Tensor rope_freqs(const Gemma4Config& c) {
  const int64_t half = c.rope_full.head_dim / 2;
  std::vector<float> v(static_cast<size_t>(half), 1e30f);
  for (int64_t i = 0; i < c.rope_full.rotated && i < half; ++i) v[static_cast<size_t>(i)] = static_cast<float>(c.rope_full.factor);
  return Tensor::from_vector(v, {half});
}

void add_tokenizer(GgufWriter& w, const Gemma4Config& c, const std::string& tokenizer_json) {
  const data::Tokenizer tok = data::Tokenizer::from_file(tokenizer_json);
  GT_CHECK(tok.vocab_size() <= c.vocab_size, tokenizer_json, ": ", tok.vocab_size(),
           " token ids do not fit the model's vocabulary of ", c.vocab_size);
  // Tokens the chat parser must see as text, as llama.cpp's Gemma 4 converter marks them.
  static const std::set<std::string> visible = {"<|channel>", "<channel|>",        "<|tool_call>", "<tool_call|>",
                                                "<|tool_response>", "<tool_response|>", "<|\"|>"};
  static const std::regex byte_token("<0x[0-9A-F]{2}>");
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int64_t id = 0; id < c.vocab_size; ++id) {
    const auto t = id < tok.vocab_size() ? tok.id_to_token(static_cast<int32_t>(id)) : std::nullopt;
    if (!t) {  // rows of the embedding no token uses, named as llama.cpp names such holes
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(kUnused);
      continue;
    }
    tokens.emplace_back(*t);
    types.push_back(visible.count(tokens.back()) ? kUserDefined
                    : tok.is_special(static_cast<int32_t>(id)) ? kControl
                    : std::regex_match(tokens.back(), byte_token) ? kByte : kNormal);
  }
  const json file = read_json_file(tokenizer_json);
  std::vector<std::string> merges;
  const json m = file.value("model", json::object()).value("merges", json::array());
  for (const json& e : m) {
    if (e.is_string()) merges.push_back(e.get<std::string>());
    else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string())
      merges.push_back(e[0].get<std::string>() + " " + e[1].get<std::string>());
    else fail(tokenizer_json, ": model.merges holds ", e.dump(), ", not a merge (\"a b\" or [\"a\", \"b\"])");
  }
  w.add_string("tokenizer.ggml.model", kArch);
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_f32_array("tokenizer.ggml.scores", std::vector<float>(tokens.size(), 0.f));
  w.add_i32_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", merges);
  for (const auto& [key, name] : std::vector<std::pair<std::string, std::string>>{
           {"bos", "<bos>"}, {"eos", "<eos>"}, {"unknown", "<unk>"}, {"padding", "<pad>"}})
    if (auto id = tok.token_to_id(name)) w.add_u32("tokenizer.ggml." + key + "_token_id", static_cast<uint32_t>(*id));
  w.add_bool("tokenizer.ggml.add_bos_token", true);
  w.add_bool("tokenizer.ggml.add_space_prefix", false);
}

std::string chat_template(const std::string& source_dir) {
  if (source_dir.empty()) return "";
  const fs::path jinja = fs::path(source_dir) / "chat_template.jinja";
  if (fs::exists(jinja)) return read_text_file(jinja);
  const fs::path cfg = fs::path(source_dir) / "tokenizer_config.json";
  if (!fs::exists(cfg)) return "";
  const json j = read_json_file(cfg);
  return j.contains("chat_template") && j["chat_template"].is_string() ? j["chat_template"].get<std::string>() : "";
}

GgmlType tensor_type(const Tensor& t, GgufType type) {
  if (type == GgufType::F32 || t.dim() < 2) return GgmlType::F32;
  if (type == GgufType::Q8_0 && t.shape().back() % kQ8Block == 0) return GgmlType::Q8_0;
  return GgmlType::BF16;
}

}  // namespace

const char* gguf_type_name(GgufType t) {
  return t == GgufType::F32 ? "f32" : t == GgufType::BF16 ? "bf16" : "q8_0";
}

std::string gguf_tensor_name(const std::string& n) {
  static const std::map<std::string, std::string> global = {
      {"embed_tokens.weight", "token_embd.weight"},
      {"embed_tokens_per_layer.weight", "per_layer_token_embd.weight"},
      {"per_layer_model_projection.weight", "per_layer_model_proj.weight"},
      {"per_layer_projection_norm.weight", "per_layer_proj_norm.weight"},
      {"norm.weight", "output_norm.weight"}};
  static const std::map<std::string, std::string> layer = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"},
      {"self_attn.q_norm.weight", "attn_q_norm.weight"},
      {"self_attn.k_norm.weight", "attn_k_norm.weight"},
      {"post_attention_layernorm.weight", "post_attention_norm.weight"},
      {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
      {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},
      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},
      {"per_layer_input_gate.weight", "inp_gate.weight"},
      {"per_layer_projection.weight", "proj.weight"},
      {"post_per_layer_input_norm.weight", "post_norm.weight"},
      {"layer_scalar", "layer_output_scale.weight"}};
  if (auto it = global.find(n); it != global.end()) return it->second;
  static const std::regex in_layer(R"(layers\.(\d+)\.(.+))");
  std::smatch m;
  if (std::regex_match(n, m, in_layer))
    if (auto it = layer.find(m[2].str()); it != layer.end()) return "blk." + m[1].str() + "." + it->second;
  fail("gguf: no GGUF name for tensor '", n, "'");
}

void write_gemma_gguf(const Gemma4& model, const std::string& tokenizer_json, const std::string& source_dir,
                      const std::string& path, GgufType type) {
  const Gemma4Config& c = model.config();
  GgufWriter w;
  w.add_string("general.architecture", kArch);
  w.add_string("general.name", fs::path(source_dir.empty() ? path : source_dir).filename().string());
  // llama.cpp's file types: all F32, mostly BF16, mostly Q8_0.
  w.add_u32("general.file_type", type == GgufType::F32 ? 0 : type == GgufType::BF16 ? 32 : 7);
  if (type == GgufType::Q8_0) w.add_u32("general.quantization_version", 2);
  w.add_u32("general.alignment", static_cast<uint32_t>(kGgufAlignment));
  add_hparams(w, c);
  add_tokenizer(w, c, tokenizer_json);
  if (const std::string t = chat_template(source_dir); !t.empty()) w.add_string("tokenizer.chat_template", t);
  if (std::any_of(c.layers.begin(), c.layers.end(), [](const LayerConfig& l) { return l.type == LayerType::Full; }))
    w.add_tensor("rope_freqs.weight", rope_freqs(c), GgmlType::F32);
  for (const auto& [name, t] : model.state().items()) w.add_tensor(gguf_tensor_name(name), t, tensor_type(t, type));
  w.write(path);
}

}  // namespace gt::exporter
