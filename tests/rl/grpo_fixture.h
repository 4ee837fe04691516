#pragma once
// A tiny GRPO setup in a scratch folder: the byte tokenizer, the tiny Gemma 4 of the SFT tests (random weights), the
// short plan samples as prompts and held-out set, and a config tying them together with a fast run's settings.
//
// A random model writes random bytes, so the built-in reward is 0 everywhere; runs that must learn use an external
// reward that counts special tokens (kSpecialTokenReward).
#include <string>

#include "rl/grpo_config.h"
#include "train/sft_fixture.h"

namespace gt::testing {

// The number of '<' in the completion: one per special token a random model writes (<pad>, <bos>, <|channel>, ...;
// 14 of the byte tokenizer's 271 ids), about one in 16 tokens. The JSON line starts with {"completion":"...",
// "sample":..., and everything from the sample on is cut off first.
inline const std::string kSpecialTokenReward = R"(sed 's/","sample":.*//' | tr -cd '<' | wc -c)";

inline std::string model_config_text() {
  json j = tiny_model_config();
  j["vocab_size"] = kByteTokenizerVocab;
  j["vocab_size_per_layer_input"] = kByteTokenizerVocab;
  return j.dump(2);
}

struct GrpoFixture {
  SftFixture sft;
  // The model's vocabulary is exactly the tokenizer's, so every id a random model samples decodes.
  std::string model_config = sft.dir.write("grpo_model_config.json", model_config_text()).string();

  json config_json(const json& overrides = json::object(), const std::string& out = "out") const {
    json j = {{"model", {{"config", model_config}, {"init_seed", 7}}},
              {"tokenizer", sft.tokenizer},
              {"data", {{"train", sft.train}, {"heldout", sft.heldout}}},
              {"out_dir", (sft.dir.path / out).string()},
              {"max_steps", 4},
              {"seed", 3},
              {"prompts_per_step", 2},
              {"batch_size", 4},
              {"generation", {{"num_generations", 4}, {"max_completion_length", 16}, {"top_p", 1.0}}},
              {"optimizer", {{"lr", 1e-2}}},
              {"eval", {{"max_new_tokens", 8}}},
              {"progress_every_s", 0}};
    j.merge_patch(overrides);
    return j;
  }
  rl::GrpoConfig config(const json& overrides = json::object(), const std::string& out = "out") const {
    return rl::parse_grpo_config(config_json(overrides, out), "grpo.json");
  }
  std::string config_file(const json& overrides = json::object(), const std::string& out = "out") const {
    return sft.dir.write("grpo.json", config_json(overrides, out).dump(2)).string();
  }
};

}  // namespace gt::testing
