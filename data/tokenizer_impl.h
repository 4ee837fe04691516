#pragma once
// Internals shared by the tokenizer's loader (tokenizer_load.cpp), BPE model (bpe.cpp) and pipeline (tokenizer.cpp).
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "data/flat_hash.h"
#include "data/tokenizer.h"

namespace gt::data::tok {

// Token strings by id: the model's vocabulary and the added tokens beyond it.
struct TokenTable {
  static constexpr uint32_t kAbsent = ~0u;
  std::string text;
  std::vector<uint32_t> off, len;  // len == kAbsent: no token has this id
  bool has(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < len.size() && len[id] != kAbsent; }
  std::string_view at(int32_t id) const { return {text.data() + off[id], len[id]}; }
};

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool single_word = false, lstrip = false, rstrip = false, normalized = true, special = false;
};

// Leftmost-longest search over a set of byte strings (the added tokens), as `tokenizers`' Aho-Corasick automaton
// finds them: at the leftmost position where any pattern starts, the longest one.
class TokenTrie {
 public:
  void build(const std::vector<std::pair<std::string, int32_t>>& patterns);
  bool empty() const { return nodes_.size() <= 1; }
  bool may_start(unsigned char c) const { return first_[c]; }
  // Length of the longest pattern that starts at text[pos] (0 if none); `value` gets its value.
  size_t longest_at(std::string_view text, size_t pos, int32_t& value) const;

 private:
  struct Node {
    uint32_t edges_begin = 0, edges_end = 0;
    int32_t value = -1;
  };
  std::vector<Node> nodes_;
  std::vector<unsigned char> edge_byte_;  // sorted within a node
  std::vector<uint32_t> edge_to_;
  std::array<bool, 256> first_{};
};

struct Replace {
  std::string from, to;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
struct Split {
  std::string pattern;
  SplitBehavior behavior;
};

struct DecodeStep {
  enum Kind { kReplace, kByteFallback, kFuse, kStrip } kind;
  std::string from, to;      // kReplace
  int32_t strip_char = 0;    // kStrip
  size_t start = 0, stop = 0;
};

struct BpeModel {
  const TokenTable* tokens = nullptr;
  StringIdMap vocab;  // the model's tokens only: added tokens beyond it never take part in BPE
  U64Map merges;      // (left << 32 | right) -> (rank << 32 | merged)
  std::array<int32_t, 128> ascii_id{};  // single-character tokens; -1 when absent
  U64Map char_id;                       // code point -> id for the non-ASCII ones
  std::array<int32_t, 256> byte_id{};   // <0xNN>; -1 when absent
  int32_t unk_id = -1;
  bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
  // Words may be cut before each "▁" that follows another character and BPE'd piece by piece, which makes the word
  // cache useful: the loader proved that no merge can join across such a cut, except inside the `crossings` (merge
  // results with a cut inside, and the cut's offset), where the cut is not made.
  bool split_at_word_start = false;
  std::vector<std::pair<std::string, size_t>> crossings;
  uint64_t serial = 0;  // identifies this model to the per-thread word cache

  int32_t find(std::string_view token) const {
    return vocab.find(token, tokens->text);
  }
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

 private:
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void merge(std::string_view piece, std::vector<int32_t>& out) const;
};

}  // namespace gt::data::tok

namespace gt::data {

struct Tokenizer::Impl {
  std::string origin;
  tok::TokenTable tokens;
  std::vector<uint8_t> special;  // by id
  std::vector<tok::AddedToken> added;
  tok::StringIdMap added_by_content;  // id of an added token from its content (text in `tokens`)
  tok::TokenTrie raw_trie;            // added tokens with normalized=false, matched on the input
  tok::TokenTrie normalized_trie;     // the others, matched on normalized text; values index `added`
  std::vector<tok::Replace> normalizer;
  std::vector<tok::Split> pre_tokenizer;
  bool has_decoder = false;
  std::vector<tok::DecodeStep> decoder;
  std::vector<int32_t> prefix, suffix;  // the post-processor's template around the text
  tok::BpeModel bpe;

  void encode_into(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const;
  std::string normalize(std::string_view text) const;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

 private:
  void encode_unmatched(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const;
  void encode_normalized(std::string_view text, std::vector<int32_t>& out) const;
};

// Parses and validates; errors name `origin` and the offending component.
std::unique_ptr<Tokenizer::Impl> load_tokenizer(std::string_view json_text, std::string_view origin);

}  // namespace gt::data
