#pragma once
// FP8 E4M3 (the "e4m3fn" variant of the OCP 8-bit floating point spec, torch.float8_e4m3fn, safetensors dtype
// F8_E4M3), the weight format of FP8 exports (docs/export.md). One byte: sign bit, 4 exponent bits (bias 7), 3
// mantissa bits.
//
//   exponent 0        subnormal: (-1)^s * 2^-6 * m/8          (the smallest positive value is 2^-9)
//   exponent 1..15    normal:    (-1)^s * 2^(e-7) * (1 + m/8)
//   exponent 15, m 7  NaN (0x7f, 0xff); there are no infinities, so the largest finite value is 448 (0x7e)
//
// Adjacent codes of one binade differ by 2^-3 of its power of two, so rounding to the nearest code moves a normal
// value by at most 2^-4 of itself.
#include <cstdint>
#include <string>

#include "autograd/tensor.h"

namespace gt {

inline constexpr float kE4M3Max = 448.f;

// The nearest code, ties to the even code; values beyond +-448 (infinities too) saturate to +-448. NaN has no
// honest code and is refused (gt::Error).
uint8_t float_to_e4m3(float x);
// Exact (every code is a float); the NaN codes give NaN.
float e4m3_to_float(uint8_t code);

// Dequantizes stored FP8 weights, already widened to f32 codes (`codes`, [out, in]), by their scales: `scale` is
// [out, 1] (one per output channel), [1] or [] (one per tensor); the result is f32 codes * scale, as
// `weight.float() * scale` in torch. Errors name `origin` and the scale's shape.
Tensor dequantize_fp8(const Tensor& codes, const Tensor& scale, const std::string& origin);

}  // namespace gt
