#include "autograd/vec_math.h"

// GCC 12 flags Eigen 3.4's AVX-512 packet code (built from _mm512_undefined_*) as maybe-uninitialized; the values
// are fully written before use.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include <algorithm>

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
  blockwise(x, y, n, [](const Block& b) -> Block { return b.exp(); });
}

}  // namespace gt::vec
