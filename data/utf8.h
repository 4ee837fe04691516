#pragma once
// UTF-8 helpers for the tokenizer. Rust strings (what `tokenizers` sees) are always valid UTF-8; ours may not be,
// so a byte that does not start a valid sequence counts as a one-byte "character" of its own.
#include <cstdint>
#include <string>
#include <string_view>

namespace gt::data::tok {

// Length of the character at s[i] (1 for an invalid byte); `cp` gets its code point, or -1 when invalid.
inline size_t utf8_next(std::string_view s, size_t i, int32_t& cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i + k < s.size() && b(k) >= lo && b(k) <= hi;
  };
  unsigned c = b(0);
  if (c < 0x80) {
    cp = static_cast<int32_t>(c);
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    cp = static_cast<int32_t>(((c & 0x1F) << 6) | (b(1) & 0x3F));
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;  // no overlongs, no surrogates
    if (cont(1, lo, hi) && cont(2)) {
      cp = static_cast<int32_t>(((c & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F));
      return 3;
    }
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      cp = static_cast<int32_t>(((c & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F));
      return 4;
    }
  }
  cp = -1;
  return 1;
}

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
