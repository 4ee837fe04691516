#pragma once
// Integer arithmetic on sizes and counts that come from files and flags: a product that would wrap is an error
// naming what was being computed, never a small number that later divides by zero or sizes a short buffer.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/error.h"

namespace gt {

inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail(what, ": ", a, " x ", b, " overflows a 64-bit integer");
  return r;
}

inline int64_t checked_add(int64_t a, int64_t b, std::string_view what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail(what, ": ", a, " + ", b, " overflows a 64-bit integer");
  return r;
}

// The whole of `text` as a decimal integer, or nullopt when it is not one or does not fit (std::stoll would throw a
// bare "stoll" for a file named step-99999999999999999999.h5).
inline std::optional<int64_t> parse_int64(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace gt
