#pragma once
// Gemma 4 keeps Gemma 3's vocabulary and merges and renames some special tokens in place (same ids). This makes a
// Gemma-4-named tokenizer.json from the Gemma 3 file, for tests and benchmarks; a real Gemma 4 model directory
// brings its own tokenizer.json, which always wins.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace gt::data {

struct TokenRename {
  int32_t id;
  std::string_view gemma4, gemma3;
};

std::span<const TokenRename> gemma4_token_renames();

// Throws gt::Error (naming `origin`) unless every renamed id carries its Gemma 3 name.
std::string gemma4_tokenizer_json_from_gemma3(std::string_view gemma3_json, std::string_view origin);
// File to file; the output is written atomically.
void write_gemma4_tokenizer_from_gemma3(const std::filesystem::path& in, const std::filesystem::path& out);

}  // namespace gt::data
