#pragma once
// A tokenizer for tests that generate or train on tiny models: every id from 0 to 270 exists, so anything a random
// model draws decodes, and any text encodes (as UTF-8 bytes).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "base/json_file.h"

namespace gt::testing {

inline constexpr int64_t kByteTokenizerVocab = 271;

// <pad> 0, <eos> 1, <bos> 2, <unk> 3, the 256 byte tokens <0x00>..<0xFF> at 4..259, Gemma 4's chat tokens at
// 260..269 and "▁" at 270: with no merges every other character encodes as its UTF-8 bytes, so any text
// round-trips.
inline std::string byte_tokenizer_json() {
  nlohmann::json j = read_json_file(GT_FIXTURES "/tokenizer/tiny.json");
  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::json added = nlohmann::json::array();
  auto special = [&](const std::string& s, int id) {
    vocab[s] = id;
    added.push_back({{"id", id},
                     {"content", s},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  };
  special("<pad>", 0);
  special("<eos>", 1);
  special("<bos>", 2);
  special("<unk>", 3);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 4 + b;
  }
  int id = 260;
  for (const char* s : {"<|turn>", "<turn|>", "<|think|>", "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
                        "<|tool_response>", "<tool_response|>", "<|\"|>"})
    special(s, id++);
  // The normalizer writes spaces as "▁"; as a token of its own the decoder turns it back into a space.
  vocab["\u2581"] = id;
  j["model"]["vocab"] = vocab;
  j["model"]["merges"] = nlohmann::json::array();
  j["added_tokens"] = added;
  return j.dump();
}

}  // namespace gt::testing
