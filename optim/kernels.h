#pragma once
// Shared pieces of the optimizer kernels (internal to optim/): deterministic parallel loops and the weight
// accessors that hide whether a parameter is f32, bf16 with an f32 master, or bare bf16.
//
// Every index is int64_t: the per-layer-embedding table has more than 2^31 elements (docs/pitfalls.md item 2).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "autograd/dtype.h"
#include "autograd/parallel.h"
#include "autograd/tensor.h"
#include "optim/optimizer.h"

namespace gt::optim_detail {

// Elementwise work is cut into chunks of this many elements. Reductions keep one partial per chunk and add the
// partials in chunk order, so a result depends only on the data, never on the thread count or timing.
constexpr int64_t kChunk = int64_t{1} << 15;

template <class F>
void for_chunks(int64_t n, F&& body) {
  parallel_for(n, kChunk, [&](int64_t b, int64_t e) { body(b, e); });
}

// sum over [0, n) of part(begin, end), each part a double over one fixed chunk.
template <class F>
double chunked_sum(int64_t n, F&& part) {
  if (n <= 0) return 0.0;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_for(chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c)
      partial[static_cast<size_t>(c)] = part(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
  double s = 0.0;
  for (double p : partial) s += p;
  return s;
}

inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Rounds up with probability equal to the discarded fraction of the bf16 ulp, so E[result] = v.
inline bf16 bf16_stochastic(float v, uint64_t key, int64_t i) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  if ((u & 0x7f800000u) == 0x7f800000u) return float_to_bf16(v);  // inf and NaN keep their nearest form
  const uint32_t noise = static_cast<uint32_t>(mix64(key ^ static_cast<uint64_t>(i)) >> 48);
  return bf16{static_cast<uint16_t>((u + noise) >> 16)};
}

struct Bf16Writer {
  bool stochastic = false;
  uint64_t key = 0;
  bf16 operator()(float v, int64_t i) const { return stochastic ? bf16_stochastic(v, key, i) : float_to_bf16(v); }
};

// Every accessor's set() reports a non-finite result by setting *non_finite (nullptr: not watched). Threads only
// ever store 1, so the flag is the same whatever their number and order: the step's own pass finds an explosion,
// with no second sweep over the weights. The bits are tested, not std::isfinite, which fast-math may fold away.
inline void flag_if_non_finite(bool non_finite, int* flag) {
  if (non_finite && flag) std::atomic_ref<int>(*flag).store(1, std::memory_order_relaxed);
}
inline bool non_finite_bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return (u & 0x7f800000u) == 0x7f800000u;
}
inline bool non_finite_bits(bf16 b) { return (b.bits & 0x7f80u) == 0x7f80u; }

struct F32Weights {
  float* w;
  int* non_finite = nullptr;
  float get(int64_t i) const { return w[i]; }
  void set(int64_t i, float v) const {
    w[i] = v;
    flag_if_non_finite(non_finite_bits(v), non_finite);
  }
};

// The bf16 value is the one checked: a finite f32 beyond bf16's range rounds to an infinity.
struct MasterWeights {
  float* m;
  bf16* p;
  Bf16Writer round;
  int* non_finite = nullptr;
  float get(int64_t i) const { return m[i]; }
  void set(int64_t i, float v) const {
    m[i] = v;
    p[i] = round(v, i);
    flag_if_non_finite(non_finite_bits(p[i]), non_finite);
  }
};

struct Bf16Weights {
  bf16* p;
  Bf16Writer round;
  int* non_finite = nullptr;
  float get(int64_t i) const { return bf16_to_float(p[i]); }
  void set(int64_t i, float v) const {
    p[i] = round(v, i);
    flag_if_non_finite(non_finite_bits(p[i]), non_finite);
  }
};

// The stochastic-rounding key of parameter `index` at its step `step`.
inline uint64_t rounding_key(const PrecisionOptions& prec, size_t index, int64_t step) {
  return mix64(prec.seed ^ mix64(static_cast<uint64_t>(index) ^ mix64(static_cast<uint64_t>(step))));
}

// Calls f with the accessor for parameter `index` at its step `step` (the stochastic-rounding key needs both),
// which sets *non_finite when it writes a non-finite value.
template <class F>
void with_weights(const Tensor& param, const Tensor& master, const PrecisionOptions& prec, size_t index,
                  int64_t step, int* non_finite, F&& f) {
  if (param.dtype() == DType::F32) {
    f(F32Weights{param.data<float>(), non_finite});
    return;
  }
  Bf16Writer round{prec.rounding == Rounding::Stochastic, rounding_key(prec, index, step)};
  if (master.defined())
    f(MasterWeights{master.data<float>(), param.data<bf16>(), round, non_finite});
  else
    f(Bf16Weights{param.data<bf16>(), round, non_finite});
}

// RMS of the current weights, accumulated in double.
template <class W>
double weights_rms(const W& w, int64_t n) {
  const double ss = chunked_sum(n, [&](int64_t b, int64_t e) {
    double s = 0.0;
    for (int64_t i = b; i < e; ++i) {
      const double x = w.get(i);
      s += x * x;
    }
    return s;
  });
  return n > 0 ? std::sqrt(ss / static_cast<double>(n)) : 0.0;
}

// The rows of a [rows, cols] matrix that carry a gradient: all of them (index == nullptr, count == rows) or the
// sorted unique rows of a row-sparse gradient. Row k of `g` belongs to matrix row row(k).
struct RowGrad {
  int64_t rows = 0, cols = 0;
  int64_t count = 0;
  const int64_t* index = nullptr;
  const float* g = nullptr;
  int64_t row(int64_t k) const { return index ? index[k] : k; }
  // The first entry whose row is >= r.
  int64_t first_at_or_after(int64_t r) const {
    if (!index) return std::min(r, count);
    return std::lower_bound(index, index + count, r) - index;
  }
};

// Calls f(r, k) for every matrix row r in [0, rows), k the entry holding row r or -1, in parallel over row chunks.
template <class F>
void for_all_rows(const RowGrad& rg, F&& f) {
  const int64_t grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, rg.cols));
  parallel_for(rg.rows, grain, [&](int64_t b, int64_t e) {
    int64_t k = rg.first_at_or_after(b);
    for (int64_t r = b; r < e; ++r) {
      if (k < rg.count && rg.row(k) == r)
        f(r, k++);
      else
        f(r, int64_t{-1});
    }
  });
}

}  // namespace gt::optim_detail
