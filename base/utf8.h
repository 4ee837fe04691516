#pragma once
// Decoding UTF-8 one character at a time, for every layer that reads text: the tokenizer (data/utf8.h builds on
// it) and the YAML reader, which must refuse what JSON would refuse.
#include <cstdint>
#include <string_view>

namespace gt {

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

// The byte offset of the first invalid UTF-8 sequence in `s` (overlong forms, surrogates and code points above
// U+10FFFF included), or npos when it is all valid.
inline size_t invalid_utf8_at(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    int32_t cp;
    const size_t n = utf8_next(s, i, cp);
    if (cp < 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace gt
