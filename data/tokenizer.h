#pragma once
// A Hugging Face `tokenizer.json` tokenizer of the kind Gemma ships: a BPE model applied by merge rank with byte
// fallback, added tokens matched before the model, a Replace normalizer, a Split pre-tokenizer, a TemplateProcessing
// post-processor and a Replace/ByteFallback/Fuse/Strip decoder. Any other component is refused at load time, so a
// loaded tokenizer encodes exactly as `tokenizers` does (tests/data/test_tokenizer_golden.cpp holds it to that).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gt::data {

struct EncodeOptions {
  // Apply the post-processor's template (for Gemma: prepend <bos>). Off by default: Gemma's chat template writes
  // <bos> itself, and a second one degrades the model.
  bool add_special_tokens = false;
  // When false, text that spells a special token (say "<bos>") is encoded as ordinary text, as with
  // `tokenizers`' encode_special_tokens=True. Use it for untrusted content placed inside a rendered prompt.
  bool match_special_tokens = true;
};

class Tokenizer {
 public:
  static Tokenizer from_file(const std::filesystem::path& path);
  // `origin` names the source in error messages.
  static Tokenizer from_json(std::string_view json_text, std::string_view origin = "<memory>");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Thread-safe. Each thread that encodes keeps a word cache of about 4 MiB. Text that is not valid UTF-8 is
  // accepted: each stray byte is a character of its own (a byte-fallback token for Gemma).
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options) const;
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const {
    return encode(text, EncodeOptions{.add_special_tokens = add_special_tokens});
  }
  // Appends to `out`, so a caller can pack many texts into one buffer.
  void encode_into(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const;

  // Throws on an id outside [0, vocab_size()) (`tokenizers` drops those silently).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // One past the largest id (the model's vocabulary plus added tokens beyond it).
  int32_t vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token's text as stored in the file (for Gemma, "▁" stands for a space).
  std::optional<std::string_view> id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;
  // The ids the post-processor puts before and after the text (Gemma: {2} and {}).
  std::span<const int32_t> special_prefix() const;
  std::span<const int32_t> special_suffix() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gt::data
