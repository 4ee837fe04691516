#include "autograd/vec_math.h"

// GCC 12 flags Eigen 3.4's AVX-512 packet code (built from _mm512_undefined_*) as maybe-uninitialized; the values
// are fully written before use.
#if !defined(__clang__)  // clang has no such warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

namespace gt::vec {

namespace {

// A fixed-size, statically aligned block is a whole number of packets at every SIMD width Eigen uses (4, 8, 16
// floats), so Eigen evaluates it with packet code only; the tail of an array is staged through the same block.
constexpr int64_t kBlock = 16;
using Block = Eigen::Array<float, kBlock, 1>;

template <class F>
void blockwise(const float* x, float* y, int64_t n, F f) {
  Block in, out;
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = std::min(kBlock, n - i);
    std::copy(x + i, x + i + m, in.data());
    std::fill(in.data() + m, in.data() + kBlock, 0.f);
    out = f(in);
    std::copy(out.data(), out.data() + m, y + i);
  }
}

}  // namespace

void tanh(const float* x, float* y, int64_t n) {
  blockwise(x, y, n, [](const Block& b) -> Block { return b.tanh(); });
}

void exp(const float* x, float* y, int64_t n) {
  // Below log(FLT_MIN) the result would be subnormal, and Eigen 3.4's AVX2 path does not compute those: it clamps
  // the argument there and returned 2.9e-39 for exp(-inf), where masked softmax entries need exactly 0. Such
  // results flush to 0 (an absolute error under 1.2e-38), the same on every SIMD width.
  static constexpr float kLowest = -88.3762626647949f;
  blockwise(x, y, n, [](const Block& b) -> Block { return (b < kLowest).select(Block::Zero(), b.exp()); });
}

void softcap(const float* x, float* y, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] / cap;
  tanh(y, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] *= cap;
}

double logsumexp(const float* x, int64_t n, float scale, float* scratch) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  for (int64_t i = 0; i < n; ++i) scratch[i] = (x[i] - m) * scale;
  exp(scratch, scratch, n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += scratch[i];
  return static_cast<double>(m * scale) + std::log(s);
}

}  // namespace gt::vec
