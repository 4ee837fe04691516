#pragma once
// UTF-8 helpers for the tokenizer. Rust strings (what `tokenizers` sees) are always valid UTF-8; ours may not be,
// so a byte that does not start a valid sequence counts as a one-byte "character" of its own.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/utf8.h"

namespace gt::data::tok {

using ::gt::utf8_next;  // base/utf8.h

// Start of the character that ends just before s[end] (end > 0).
inline size_t utf8_prev_start(std::string_view s, size_t end) {
  size_t i = end - 1;
  for (size_t back = 0; back < 3 && i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; ++back) --i;
  int32_t cp;
  return i + utf8_next(s, i, cp) == end ? i : end - 1;
}

inline void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Unicode White_Space, as Rust's char::is_whitespace.
inline bool is_unicode_space(int32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// A letter or digit for added tokens' single_word flag. Exact for ASCII; any other non-space character above
// U+007F counts as one, which is right for letters of other scripts and wrong only for non-ASCII punctuation.
inline bool is_word_char(int32_t c) {
  if (c < 0) return false;
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return !is_unicode_space(c);
}

}  // namespace gt::data::tok
