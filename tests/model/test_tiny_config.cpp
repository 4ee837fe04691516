// configs/tiny.json, the model `gemma-tune demo` trains from scratch: a Gemma 4 config with every mechanism of the
// E2B graph switched on, sized to configs/tiny-tokenizer.json, and a random model of it that trains on a rendered
// plan sample.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data/chat_format.h"
#include "data/synth.h"
#include "data/tokenizer.h"
#include "model/config.h"
#include "model/gemma4.h"

using namespace gt;

namespace {

const Gemma4Config& tiny() {
  static const Gemma4Config c = load_gemma4_config(GT_CONFIGS "/tiny.json");
  return c;
}

const data::Tokenizer& tiny_tokenizer() {
  static const data::Tokenizer t = data::Tokenizer::from_file(GT_CONFIGS "/tiny-tokenizer.json");
  return t;
}

std::vector<data::EncodedChat> encoded_samples(size_t n) {
  data::synth::Options o;
  o.train = n;
  o.heldout = 5;
  o.seed = 21;
  std::vector<data::EncodedChat> out;
  for (const auto& s : data::synth::synthesize(o).train) out.push_back(data::encode_plan_sample(tiny_tokenizer(), s, true));
  return out;
}

}  // namespace

TEST(TinyConfig, IsTheFlatCausalFormWithEveryGemma4FeatureOn) {
  const Gemma4Config& c = tiny();
  EXPECT_FALSE(c.conditional_generation);
  EXPECT_EQ(c.json["model_type"], "gemma4_text");
  EXPECT_EQ(c.json["architectures"], nlohmann::ordered_json::array({"Gemma4ForCausalLM"}));
  EXPECT_EQ(c.vocab_size, tiny_tokenizer().vocab_size());

  EXPECT_GT(c.ple_dim, 0) << "per-layer embeddings";
  EXPECT_EQ(c.ple_vocab, c.vocab_size);
  EXPECT_DOUBLE_EQ(c.final_logit_softcapping, 30.0);
  EXPECT_EQ(c.pad_token_id, 0);

  ASSERT_GE(c.num_layers, 4);
  EXPECT_EQ(c.layers.back().type, LayerType::Full);
  int64_t head_dim[2] = {0, 0}, shared[2] = {0, 0};
  for (const LayerConfig& l : c.layers) {
    head_dim[static_cast<int>(l.type)] = l.head_dim;
    EXPECT_LT(l.kv_heads, c.num_heads) << "MQA or GQA";
    if (l.kv_shared) {
      ++shared[static_cast<int>(l.type)];
      EXPECT_EQ(c.layers[static_cast<size_t>(l.kv_source)].type, l.type);
      EXPECT_FALSE(c.layers[static_cast<size_t>(l.kv_source)].kv_shared);
      EXPECT_EQ(l.intermediate, 2 * c.layers[0].intermediate) << "double-wide MLP on KV-shared layers";
    } else {
      EXPECT_EQ(l.intermediate, c.layers[0].intermediate);
    }
  }
  EXPECT_GT(head_dim[0], 0);
  EXPECT_GT(head_dim[1], head_dim[0]) << "global head size differs from the sliding one";
  EXPECT_GE(shared[0], 1) << "a KV-shared sliding layer";
  EXPECT_GE(shared[1], 1) << "a KV-shared full layer";
  EXPECT_FALSE(c.layers[0].kv_shared);

  EXPECT_EQ(c.rope_sliding.type, "default");
  EXPECT_EQ(c.rope_full.type, "proportional");
  EXPECT_GT(c.rope_full.rotated, 0);
  EXPECT_LT(c.rope_full.rotated, c.rope_full.head_dim / 2) << "partial rotation on full layers";
}

TEST(TinyConfig, SlidingWindowIsShorterThanATypicalSampleAndEverySampleFits) {
  std::vector<size_t> lengths;
  for (const auto& e : encoded_samples(50)) lengths.push_back(e.ids.size());
  std::sort(lengths.begin(), lengths.end());
  EXPECT_LT(tiny().sliding_window, static_cast<int64_t>(lengths[lengths.size() / 2]));
  EXPECT_LE(static_cast<int64_t>(lengths.back()), tiny().json["max_position_embeddings"].get<int64_t>());
}

TEST(TinyConfig, RandomModelRunsForwardAndBackwardOnARenderedSample) {
  Gemma4 m = Gemma4::random(tiny(), 3);
  const data::EncodedChat e = encoded_samples(1).front();
  const auto T = static_cast<int64_t>(e.ids.size());
  std::vector<int64_t> ids(e.ids.begin(), e.ids.end()), labels(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) labels[i] = e.mask[i] ? ids[i] : -100;

  Tensor hidden = m.hidden_states(Tensor::from_ids(ids, {1, T}));
  Tensor logits = m.head(hidden);
  EXPECT_EQ(logits.shape(), (Shape{1, T, tiny().vocab_size}));
  for (float v : logits.to_floats()) ASSERT_TRUE(std::isfinite(v) && std::abs(v) <= 30.0f);

  Tensor loss = m.head_loss(hidden, next_token_targets(Tensor::from_ids(labels, {1, T})));
  // Near-uniform predictions from small random weights: the loss is about ln(vocab).
  EXPECT_NEAR(loss.item(), std::log(static_cast<double>(tiny().vocab_size)), 0.5);
  loss.backward();
  for (const char* name : {"embed_tokens.weight", "embed_tokens_per_layer.weight", "layers.0.self_attn.q_proj.weight",
                           "layers.5.mlp.down_proj.weight", "layers.4.self_attn.q_proj.weight"})
    EXPECT_TRUE(m.state().at(name).has_grad()) << name;
}
