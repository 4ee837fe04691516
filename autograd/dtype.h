#pragma once
// Element types, devices and the bfloat16 conversions every other file relies on.
#include <cstdint>
#include <cstring>
#include <string>

namespace gt {

enum class DType : uint8_t { F32, BF16, I32, I64 };
enum class Device : uint8_t { CPU, CUDA };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
  }
  return 0;
}
const char* dtype_name(DType t);
const char* device_name(Device d);
inline bool is_floating(DType t) { return t == DType::F32 || t == DType::BF16; }

// bfloat16 is the top half of an IEEE float. Rounding is to nearest, ties to even, as PyTorch and the
// hardware do it; NaN stays a (quiet) NaN instead of rounding up into infinity.
struct bf16 {
  uint16_t bits = 0;
};

inline bf16 float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16{static_cast<uint16_t>((u >> 16) | 0x40u)};
  const uint32_t lsb = (u >> 16) & 1u;
  u += 0x7fffu + lsb;
  return bf16{static_cast<uint16_t>(u >> 16)};
}

inline float bf16_to_float(bf16 h) {
  uint32_t u = static_cast<uint32_t>(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The float nearest to f that bfloat16 can hold.
inline float round_to_bf16(float f) { return bf16_to_float(float_to_bf16(f)); }

}  // namespace gt
