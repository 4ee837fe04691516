// `export --format gguf`: the f16 and Q8_0 encoders on hand-worked values, the tensor names, and the written file
// read back with Hugging Face's GGUF reader (npm; scripts/read_gguf.sh), every key and tensor checked.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "export/export.h"
#include "export/gguf_writer.h"
#include "export_fixture.h"
#include "support/expect_error.h"

using namespace gt;
using namespace gt::testing;
using namespace gt::exporter;
namespace fs = std::filesystem;
using nlohmann::json;

TEST(Gguf, HalfRoundsToNearestEven) {
  EXPECT_EQ(float_to_half(0.f), 0x0000);
  EXPECT_EQ(float_to_half(-0.f), 0x8000);
  EXPECT_EQ(float_to_half(1.f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.f), 0xc000);
  EXPECT_EQ(float_to_half(65504.f), 0x7bff);                     // the largest half
  EXPECT_EQ(float_to_half(65520.f), 0x7c00);                     // halfway to 65536: even, so infinity
  EXPECT_EQ(float_to_half(1.f + std::ldexp(1.f, -11)), 0x3c00);  // halfway 1 / 1+2^-10: even
  EXPECT_EQ(float_to_half(1.f + std::ldexp(3.f, -11)), 0x3c02);  // halfway: even mantissa 2
  EXPECT_EQ(float_to_half(std::ldexp(1.f, -24)), 0x0001);        // the smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.f, -25)), 0x0000);        // halfway 0 / 2^-24: even
  EXPECT_EQ(float_to_half(std::ldexp(3.f, -25)), 0x0002);
  EXPECT_EQ(float_to_half(std::ldexp(1023.5f, -24)), 0x0400);    // rounds up to the smallest normal 2^-14
}

TEST(Gguf, Q8_0BlocksByHand) {
  // absmax 127 makes d = 1 (f16 0x3c00), so the codes are the values rounded, halves away from zero.
  float x[32] = {127.f, -127.f, 2.5f, -2.5f, 0.49f, 100.4f};
  uint8_t b[34];
  quantize_q8_0_block(x, b);
  EXPECT_EQ(b[0], 0x00);
  EXPECT_EQ(b[1], 0x3c);
  EXPECT_EQ(b[2], 127);
  EXPECT_EQ(static_cast<int8_t>(b[3]), -127);
  EXPECT_EQ(b[4], 3);
  EXPECT_EQ(static_cast<int8_t>(b[5]), -3);
  EXPECT_EQ(b[6], 0);
  EXPECT_EQ(b[7], 100);
  for (int i = 8; i < 34; ++i) EXPECT_EQ(b[i], 0) << i;
  // absmax 254: d = 2, 3 -> 1.5 -> 2 (away from zero), -1 -> -0.5 -> -1.
  float y[32] = {254.f, 3.f, -1.f};
  quantize_q8_0_block(y, b);
  EXPECT_EQ(b[0] | b[1] << 8, 0x4000);
  EXPECT_EQ(b[2], 127);
  EXPECT_EQ(b[3], 2);
  EXPECT_EQ(static_cast<int8_t>(b[4]), -1);
  float z[32] = {};  // all zero: d = 0, codes 0
  quantize_q8_0_block(z, b);
  for (int i = 0; i < 34; ++i) EXPECT_EQ(b[i], 0) << i;
}

TEST(Gguf, TensorNamesAreLlamaCpps) {
  EXPECT_EQ(gguf_tensor_name("embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("norm.weight"), "output_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.12.self_attn.o_proj.weight"), "blk.12.attn_output.weight");
  EXPECT_EQ(gguf_tensor_name("layers.3.pre_feedforward_layernorm.weight"), "blk.3.ffn_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.3.post_feedforward_layernorm.weight"), "blk.3.post_ffw_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.per_layer_input_gate.weight"), "blk.0.inp_gate.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.layer_scalar"), "blk.0.layer_output_scale.weight");
  expect_error([] { gguf_tensor_name("layers.0.mystery.weight"); }, {"layers.0.mystery.weight"});
}

namespace {

// The file as @huggingface/gguf reads it, or a skip/fail reason (as the real tokenizer's tests do).
json read_with_npm(const std::string& file, std::string& skip, std::string& failure) {
  const std::string script =
      (fs::path(GT_FIXTURES).parent_path().parent_path() / "scripts" / "read_gguf.sh").string();
  CommandResult r = run_command("'" + script + "' '" + file + "' 2>/dev/null || '" + script + "' '" + file + "'");
  if (r.rc == 0) return json::parse(r.output);
  const std::string why = "scripts/read_gguf.sh failed (status " + std::to_string(r.rc) + "): " + r.output;
  const char* s = std::getenv("GT_SKIP_NETWORK_TESTS");
  if (s && std::string(s) == "1") skip = "SKIPPED, NOT PASSED: GT_SKIP_NETWORK_TESTS=1 and " + why;
  else failure = "@huggingface/gguf is needed (set GT_SKIP_NETWORK_TESTS=1 to skip instead): " + why;
  return json();
}

}  // namespace

class GgufExport : public ::testing::TestWithParam<GgufType> {};

TEST_P(GgufExport, HuggingFacesReaderFindsEveryKeyAndTensor) {
  TinyHfFolder t;
  const ExportSource s = open_export_source(t.src, nullptr);
  const std::string file = run_export(s, t.path("gguf"), {.format = Format::GGUF, .gguf_type = GetParam()});
  EXPECT_EQ(fs::path(file).filename(), std::string("model-") + gguf_type_name(GetParam()) + ".gguf");
  std::string skip, failure;
  const json g = read_with_npm(file, skip, failure);
  if (!skip.empty()) GTEST_SKIP() << skip;
  ASSERT_TRUE(failure.empty()) << failure;
  const json& m = g["metadata"];
  const Gemma4Config& c = s.model.config();

  EXPECT_EQ(m["version"], 3);
  EXPECT_EQ(m["general.architecture"], "gemma4");
  EXPECT_EQ(m["general.alignment"], 32);
  EXPECT_EQ(m["general.file_type"], GetParam() == GgufType::F32 ? 0 : GetParam() == GgufType::BF16 ? 32 : 7);
  EXPECT_EQ(m["gemma4.context_length"], 256);
  EXPECT_EQ(m["gemma4.embedding_length"], 32);
  EXPECT_EQ(m["gemma4.block_count"], 5);
  EXPECT_EQ(m["gemma4.feed_forward_length"], json({32, 32, 32, 64, 64}));  // double-wide on the KV-shared 3, 4
  EXPECT_EQ(m["gemma4.attention.head_count"], 4);
  EXPECT_EQ(m["gemma4.attention.head_count_kv"], 2);
  EXPECT_EQ(m["gemma4.attention.key_length"], 16);
  EXPECT_EQ(m["gemma4.attention.value_length"], 16);
  EXPECT_EQ(m["gemma4.attention.key_length_swa"], 8);
  EXPECT_EQ(m["gemma4.attention.value_length_swa"], 8);
  EXPECT_FLOAT_EQ(m["gemma4.attention.layer_norm_rms_epsilon"].get<float>(), 1e-6f);
  EXPECT_EQ(m["gemma4.attention.sliding_window"], 4);
  EXPECT_EQ(m["gemma4.attention.sliding_window_pattern"], json({true, true, false, true, false}));
  EXPECT_EQ(m["gemma4.attention.shared_kv_layers"], 2);
  EXPECT_EQ(m["gemma4.embedding_length_per_layer_input"], 8);
  EXPECT_EQ(m["gemma4.final_logit_softcapping"], 30);
  EXPECT_EQ(m["gemma4.rope.freq_base"], 1e6);
  EXPECT_EQ(m["gemma4.rope.freq_base_swa"], 1e4);
  EXPECT_EQ(m["gemma4.rope.dimension_count"], 16);
  EXPECT_EQ(m["gemma4.rope.dimension_count_swa"], 8);
  EXPECT_EQ(m["tokenizer.ggml.model"], "gemma4");
  ASSERT_EQ(m["tokenizer.ggml.tokens"].size(), 272u);
  EXPECT_EQ(m["tokenizer.ggml.tokens"][2], "<bos>");
  EXPECT_EQ(m["tokenizer.ggml.tokens"][4], "<0x00>");
  EXPECT_EQ(m["tokenizer.ggml.tokens"][271], "[PAD271]");  // a row of the embedding no token uses
  EXPECT_EQ(m["tokenizer.ggml.scores"].size(), 272u);
  EXPECT_EQ(m["tokenizer.ggml.token_type"][2], 3);    // control
  EXPECT_EQ(m["tokenizer.ggml.token_type"][4], 6);    // byte
  EXPECT_EQ(m["tokenizer.ggml.token_type"][271], 5);  // unused
  EXPECT_TRUE(m["tokenizer.ggml.merges"].is_array());
  EXPECT_EQ(m["tokenizer.ggml.bos_token_id"], 2);
  EXPECT_EQ(m["tokenizer.ggml.eos_token_id"], 1);
  EXPECT_EQ(m["tokenizer.ggml.unknown_token_id"], 3);
  EXPECT_EQ(m["tokenizer.ggml.padding_token_id"], 0);
  EXPECT_EQ(m["tokenizer.ggml.add_bos_token"], true);
  EXPECT_EQ(m["tokenizer.ggml.add_space_prefix"], false);
  EXPECT_EQ(m["tokenizer.chat_template"], "{{ bos_token }}{% for m in messages %}x{% endfor %}");
  EXPECT_EQ(m.value("general.quantization_version", json()), GetParam() == GgufType::Q8_0 ? json(2) : json());
  // Nothing else: the reader's own version, tensor_count and kv_count, and the keys checked above.
  std::set<std::string> keys;
  for (const auto& [k, v] : m.items()) keys.insert(k);
  EXPECT_EQ(keys.size(), GetParam() == GgufType::Q8_0 ? 40u : 39u);
  EXPECT_EQ(m["kv_count"], GetParam() == GgufType::Q8_0 ? 37 : 36);
  EXPECT_EQ(m["general.name"], "src");

  // Every state tensor under its llama.cpp name, dimensions innermost first, plus rope_freqs.
  std::map<std::string, json> tensors;
  for (const json& ti : g["tensors"]) tensors[ti["name"]] = ti;
  EXPECT_EQ(tensors.size(), s.model.state().items().size() + 1);
  const json& rf = tensors.at("rope_freqs.weight");
  EXPECT_EQ(rf["shape"], json({8}));
  EXPECT_EQ(rf["dtype"], 0);
  for (const auto& [name, p] : s.model.state().items()) {
    const std::string gname = gguf_tensor_name(name);
    ASSERT_TRUE(tensors.count(gname)) << gname;
    const json& ti = tensors[gname];
    Shape rev(p.shape().rbegin(), p.shape().rend());
    EXPECT_EQ(ti["shape"].get<Shape>(), rev) << gname;
    int expected = 0;  // F32; matrices BF16, or Q8_0 where their rows are whole blocks
    if (p.dim() >= 2 && GetParam() == GgufType::BF16) {
      expected = 30;
    } else if (p.dim() >= 2 && GetParam() == GgufType::Q8_0) {
      expected = p.shape().back() % 32 == 0 ? 8 : 30;
    }
    EXPECT_EQ(ti["dtype"], expected) << gname;
    EXPECT_EQ(ti["offset"].get<uint64_t>() % 32, 0u) << gname;
  }
  EXPECT_EQ(c.layers[3].kv_shared, true);
  EXPECT_FALSE(tensors.count("blk.3.attn_k.weight"));  // KV-shared layers own no keys
}

INSTANTIATE_TEST_SUITE_P(Types, GgufExport, ::testing::Values(GgufType::F32, GgufType::BF16, GgufType::Q8_0),
                         [](const auto& i) { return std::string(gguf_type_name(i.param)); });
