#include "model/float8.h"

#include <cmath>

#include "base/error.h"

namespace gt {

uint8_t float_to_e4m3(float x) {
  GT_CHECK(!std::isnan(x), "float_to_e4m3: NaN has no FP8 E4M3 code");
  const uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  const double a = std::fabs(static_cast<double>(x));
  if (a >= kE4M3Max) return sign | 0x7e;
  // Below 2^-6 the codes are the multiples of 2^-9 (exponent field 0); a value that rounds up to 8 * 2^-9 = 2^-6
  // lands on code 0x08, the smallest normal, because that is exactly how the bits count on.
  if (a < 0x1p-6) return sign | static_cast<uint8_t>(std::nearbyint(a * 512.0));
  int k = 0;
  const double f = std::frexp(a, &k);  // a = f * 2^k, f in [0.5, 1)
  int e = k - 1 + 7;                   // biased exponent of a = (2f) * 2^(k-1)
  // The mantissa in eighths; everything here is exact in double, and nearbyint rounds ties to even (the default
  // rounding mode, which nothing in this program changes).
  int m = static_cast<int>(std::nearbyint((2.0 * f - 1.0) * 8.0));
  if (m == 8) {
    m = 0;
    ++e;
  }
  if (e > 15 || (e == 15 && m == 7)) return sign | 0x7e;  // rounded past 448: saturate rather than become NaN
  return static_cast<uint8_t>(sign | (e << 3) | m);
}

float e4m3_to_float(uint8_t code) {
  const int e = (code >> 3) & 0xf, m = code & 0x7;
  const float sign = (code & 0x80) ? -1.f : 1.f;
  if (e == 15 && m == 7) return std::nanf("");
  if (e == 0) return sign * std::ldexp(static_cast<float>(m), -9);
  return sign * std::ldexp(1.f + static_cast<float>(m) / 8.f, e - 7);
}

Tensor dequantize_fp8(const Tensor& codes, const Tensor& scale, const std::string& origin) {
  GT_CHECK(codes.dim() == 2 && codes.dtype() == DType::F32, origin, ": FP8 weights must be a matrix, got ",
           codes.str());
  const int64_t out = codes.shape()[0], in = codes.shape()[1];
  const Shape& s = scale.shape();
  const bool per_channel = s == Shape{out, 1};
  GT_CHECK(per_channel || scale.numel() == 1, origin, ": weight_scale has shape ", shape_str(s), "; expected [",
           out, ", 1] (per channel) or [1] (per tensor)");
  const std::vector<float> sc = scale.to_floats();
  for (float v : sc) GT_CHECK(std::isfinite(v), origin, ": weight_scale holds a non-finite value");
  Tensor w = Tensor::empty({out, in});
  const Tensor c = codes.contiguous();
  const float* src = c.data<float>();
  float* dst = w.data<float>();
  for (int64_t r = 0; r < out; ++r) {
    const float k = sc[per_channel ? static_cast<size_t>(r) : 0];
    for (int64_t i = 0; i < in; ++i) dst[r * in + i] = src[r * in + i] * k;
  }
  return w;
}

}  // namespace gt
