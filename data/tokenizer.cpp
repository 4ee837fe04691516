// The encode pipeline (added tokens -> normalizer -> pre-tokenizer -> BPE -> post-processor) and the decoder, in the
// order and with the edge cases of `tokenizers`.
#include "data/tokenizer.h"

#include <algorithm>
#include <map>

#include "base/error.h"
#include "base/files.h"
#include "data/tokenizer_impl.h"
#include "data/utf8.h"

namespace gt::data {

namespace tok {

void TokenTrie::build(const std::vector<std::pair<std::string, int32_t>>& patterns) {
  // A map-based trie first, then flattened so that each node's edges are contiguous and sorted.
  std::vector<std::map<unsigned char, uint32_t>> children(1);
  std::vector<int32_t> values(1, -1);
  first_.fill(false);
  for (const auto& [pattern, value] : patterns) {
    if (pattern.empty()) continue;
    first_[static_cast<unsigned char>(pattern[0])] = true;
    uint32_t node = 0;
    for (char ch : pattern) {
      auto b = static_cast<unsigned char>(ch);
      auto it = children[node].find(b);
      if (it == children[node].end()) {
        it = children[node].emplace(b, static_cast<uint32_t>(children.size())).first;
        children.emplace_back();
        values.push_back(-1);
      }
      node = it->second;
    }
    values[node] = value;
  }
  nodes_.assign(children.size(), Node{});
  edge_byte_.clear();
  edge_to_.clear();
  for (size_t n = 0; n < children.size(); ++n) {
    nodes_[n].value = values[n];
    nodes_[n].edges_begin = static_cast<uint32_t>(edge_byte_.size());
    for (auto [b, to] : children[n]) {
      edge_byte_.push_back(b);
      edge_to_.push_back(to);
    }
    nodes_[n].edges_end = static_cast<uint32_t>(edge_byte_.size());
  }
}

size_t TokenTrie::longest_at(std::string_view text, size_t pos, int32_t& value) const {
  size_t best = 0;
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const Node& nd = nodes_[node];
    auto b = static_cast<unsigned char>(text[i]);
    auto first = edge_byte_.begin() + nd.edges_begin, last = edge_byte_.begin() + nd.edges_end;
    auto it = std::lower_bound(first, last, b);
    if (it == last || *it != b) break;
    node = edge_to_[static_cast<size_t>(it - edge_byte_.begin())];
    if (nodes_[node].value >= 0) {
      best = i + 1 - pos;
      value = nodes_[node].value;
    }
  }
  return best;
}

namespace {

void replace_all(std::string_view in, std::string_view from, std::string_view to, std::string& out) {
  out.clear();
  out.reserve(in.size() + in.size() / 4);
  size_t pos = 0;
  for (size_t f = in.find(from); f != std::string_view::npos; f = in.find(from, pos)) {
    out.append(in, pos, f - pos);
    out.append(to);
    pos = f + from.size();
  }
  out.append(in, pos);
}

// Splits `text` around the added tokens `trie` finds, calling on_text(piece) for the text between them and
// on_token(index into added) for each token, in order. Follows `tokenizers`' AddedVocabulary::find_matches: the
// search resumes after a match even when its flags reject it.
template <class OnText, class OnToken>
void split_on_added(const TokenTrie& trie, const std::vector<AddedToken>& added, std::string_view text,
                    bool match_special, OnText on_text, OnToken on_token) {
  if (trie.empty()) {
    on_text(text);
    return;
  }
  size_t emitted = 0;  // text before this has been handed out
  for (size_t pos = 0; pos < text.size();) {
    int32_t which = -1;
    size_t len = trie.may_start(static_cast<unsigned char>(text[pos])) ? trie.longest_at(text, pos, which) : 0;
    if (len == 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + len;
    pos = stop;
    const AddedToken& t = added[static_cast<size_t>(which)];
    if (t.special && !match_special) continue;
    int32_t cp;
    if (t.single_word) {
      bool word_before = start > 0 && (utf8_next(text, utf8_prev_start(text, start), cp), is_word_char(cp));
      bool word_after = stop < text.size() && (utf8_next(text, stop, cp), is_word_char(cp));
      if (word_before || word_after) continue;
    }
    if (start < emitted) continue;  // inside the whitespace an rstrip token took
    if (t.lstrip) {
      while (start > emitted) {
        size_t p = utf8_prev_start(text, start);
        utf8_next(text, p, cp);
        if (!is_unicode_space(cp)) break;
        start = p;
      }
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t n = utf8_next(text, stop, cp);
        if (!is_unicode_space(cp)) break;
        stop += n;
      }
      pos = stop;
    }
    if (emitted < start) on_text(text.substr(emitted, start - emitted));
    on_token(which);
    emitted = stop;
  }
  if (emitted < text.size()) on_text(text.substr(emitted));
}

// `tokenizers`' Split pre-tokenizer with a string pattern: the pieces of `s`, empty ones dropped.
void split_pieces(std::string_view s, const Split& sp, std::vector<std::string_view>& out) {
  const std::string& pat = sp.pattern;
  size_t f = s.find(pat);
  if (f == std::string_view::npos) {
    if (!s.empty()) out.push_back(s);
    return;
  }
  struct Part {
    size_t begin, end;
    bool match;
  };
  std::vector<Part> parts;
  size_t pos = 0;
  for (; f != std::string_view::npos; f = s.find(pat, pos)) {
    if (f > pos) parts.push_back({pos, f, false});
    parts.push_back({f, f + pat.size(), true});
    pos = f + pat.size();
  }
  if (pos < s.size()) parts.push_back({pos, s.size(), false});

  std::vector<Part> merged;  // `match` now means "drop this one"
  bool prev_match = false;
  switch (sp.behavior) {
    case SplitBehavior::Removed:
      merged = parts;
      break;
    case SplitBehavior::Isolated:
      for (Part p : parts) merged.push_back({p.begin, p.end, false});
      break;
    case SplitBehavior::MergedWithPrevious:
      for (Part p : parts) {
        if (p.match && !prev_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back({p.begin, p.end, false});
        prev_match = p.match;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !prev_match && !merged.empty())
          merged.back().begin = it->begin;
        else
          merged.push_back({it->begin, it->end, false});
        prev_match = it->match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    case SplitBehavior::Contiguous:
      for (Part p : parts) {
        if (p.match == prev_match && !merged.empty())
          merged.back().end = p.end;
        else
          merged.push_back({p.begin, p.end, false});
        prev_match = p.match;
      }
      break;
  }
  for (const Part& p : merged)
    if (!p.match && p.end > p.begin) out.push_back(s.substr(p.begin, p.end - p.begin));
}

bool parse_byte_token(std::string_view t, uint8_t& byte) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return false;
  int hi = hex(t[3]), lo = hex(t[4]);
  if (hi < 0 || lo < 0) return false;
  byte = static_cast<uint8_t>(hi * 16 + lo);
  return true;
}

bool valid_utf8(std::string_view s) { return invalid_utf8_at(s) == std::string_view::npos; }

void decode_byte_fallback(std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string bytes;
  size_t run = 0;  // byte tokens in `bytes`
  auto flush = [&] {
    if (run == 0) return;
    if (valid_utf8(bytes)) {
      out.push_back(bytes);
    } else {
      for (size_t k = 0; k < run; ++k) out.emplace_back("\xEF\xBF\xBD");  // one U+FFFD per byte
    }
    bytes.clear();
    run = 0;
  };
  for (std::string& t : tokens) {
    uint8_t b;
    if (parse_byte_token(t, b)) {
      bytes += static_cast<char>(b);
      ++run;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  tokens = std::move(out);
}

void decode_strip(std::string& t, int32_t ch, size_t start, size_t stop) {
  size_t begin = 0, end = t.size();
  int32_t cp;
  for (size_t k = 0; k < start && begin < end; ++k) {
    size_t n = utf8_next(t, begin, cp);
    if (cp != ch) break;
    begin += n;
  }
  for (size_t k = 0; k < stop && end > begin; ++k) {
    size_t p = utf8_prev_start(t, end);
    utf8_next(t, p, cp);
    if (cp != ch) break;
    end = p;
  }
  t = t.substr(begin, end - begin);
}

}  // namespace
}  // namespace tok

void Tokenizer::Impl::encode_into(std::string_view text, const EncodeOptions& options,
                                  std::vector<int32_t>& out) const {
  if (options.add_special_tokens) out.insert(out.end(), prefix.begin(), prefix.end());
  tok::split_on_added(
      raw_trie, added, text, options.match_special_tokens,
      [&](std::string_view piece) { encode_unmatched(piece, options, out); },
      [&](int32_t which) { out.push_back(added[static_cast<size_t>(which)].id); });
  if (options.add_special_tokens) out.insert(out.end(), suffix.begin(), suffix.end());
}

void Tokenizer::Impl::encode_unmatched(std::string_view text, const EncodeOptions& options,
                                       std::vector<int32_t>& out) const {
  if (normalizer.empty() && normalized_trie.empty()) {
    encode_normalized(text, out);
    return;
  }
  std::string norm = normalize(text);
  tok::split_on_added(
      normalized_trie, added, norm, options.match_special_tokens,
      [&](std::string_view piece) { encode_normalized(piece, out); },
      [&](int32_t which) { out.push_back(added[static_cast<size_t>(which)].id); });
}

std::string Tokenizer::Impl::normalize(std::string_view text) const {
  std::string norm(text), tmp;
  for (const tok::Replace& r : normalizer) {
    tok::replace_all(norm, r.from, r.to, tmp);
    norm.swap(tmp);
  }
  return norm;
}

void Tokenizer::Impl::encode_normalized(std::string_view text, std::vector<int32_t>& out) const {
  if (pre_tokenizer.empty()) {
    bpe.encode_word(text, out);
    return;
  }
  std::vector<std::string_view> words{text}, next;
  for (const tok::Split& sp : pre_tokenizer) {
    next.clear();
    for (std::string_view w : words) tok::split_pieces(w, sp, next);
    words.swap(next);
  }
  for (std::string_view w : words) bpe.encode_word(w, out);
}

std::string Tokenizer::Impl::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (int32_t id : ids) {
    if (!tokens.has(id))
      throw Error(origin + ": decode: id " + std::to_string(id) + " is not in the vocabulary (size " +
                  std::to_string(tokens.len.size()) + ")");
    if (skip_special_tokens && special[static_cast<size_t>(id)]) continue;
    pieces.emplace_back(tokens.at(id));
  }
  std::string out;
  if (!has_decoder) {
    // `tokenizers` without a decoder joins the tokens with spaces.
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (i) out += ' ';
      out += pieces[i];
    }
    return out;
  }
  std::string tmp;
  for (const tok::DecodeStep& step : decoder) {
    switch (step.kind) {
      case tok::DecodeStep::kReplace:
        for (std::string& p : pieces) {
          tok::replace_all(p, step.from, step.to, tmp);
          p.swap(tmp);
        }
        break;
      case tok::DecodeStep::kByteFallback:
        tok::decode_byte_fallback(pieces);
        break;
      case tok::DecodeStep::kFuse: {
        std::string all;
        for (const std::string& p : pieces) all += p;
        pieces.assign(1, std::move(all));
        break;
      }
      case tok::DecodeStep::kStrip:
        for (std::string& p : pieces) tok::decode_strip(p, step.strip_char, step.start, step.stop);
        break;
    }
  }
  for (const std::string& p : pieces) out += p;
  return out;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
  return Tokenizer(load_tokenizer(read_text_file(path), path.string()));
}

Tokenizer Tokenizer::from_json(std::string_view json_text, std::string_view origin) {
  return Tokenizer(load_tokenizer(json_text, origin));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  impl_->encode_into(text, options, out);
  return out;
}

void Tokenizer::encode_into(std::string_view text, const EncodeOptions& options, std::vector<int32_t>& out) const {
  impl_->encode_into(text, options, out);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return impl_->decode(ids, skip_special_tokens);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->tokens.len.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  int32_t a = impl_->added_by_content.find(token, impl_->tokens.text);
  if (a >= 0) return a;
  int32_t id = impl_->bpe.find(token);
  if (id >= 0) return id;
  return std::nullopt;
}

std::optional<std::string_view> Tokenizer::id_to_token(int32_t id) const {
  if (!impl_->tokens.has(id)) return std::nullopt;
  return impl_->tokens.at(id);
}

bool Tokenizer::is_special(int32_t id) const { return impl_->tokens.has(id) && impl_->special[static_cast<size_t>(id)]; }

std::span<const int32_t> Tokenizer::special_prefix() const { return impl_->prefix; }
std::span<const int32_t> Tokenizer::special_suffix() const { return impl_->suffix; }

}  // namespace gt::data
