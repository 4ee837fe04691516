#pragma once
// tokenizer.json as one SAX pass reads it (tokenizer_json.cpp): the two large arrays, model.vocab and model.merges,
// in flat buffers, and every other section as a JSON value for tokenizer_load.cpp to check.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gt::data::tok {

struct Span {
  uint32_t off, len;
};

struct TokenizerJson {
  nlohmann::json sections = nlohmann::json::object();  // top-level keys other than "model"
  nlohmann::json model = nlohmann::json::object();     // model keys other than "vocab" and "merges"
  bool saw_model = false, saw_vocab = false, saw_merges = false;
  std::string vocab_text;  // the tokens of model.vocab, back to back
  std::vector<std::pair<Span, uint64_t>> vocab;
  std::string merge_text;  // the two sides of each merge, back to back
  std::vector<std::pair<Span, Span>> merges;
};

// Throws gt::Error, prefixed with `origin`, for text that is not JSON or a section of the wrong shape.
TokenizerJson read_tokenizer_json(std::string_view json_text, std::string_view origin);

}  // namespace gt::data::tok
