#pragma once
// The seeded random source of `data synth`. std::mt19937_64's output sequence is fixed by the standard, but the
// std distributions are not: libstdc++ and libc++ turn the same engine output into different integers, doubles and
// shuffles, so the same seed would give different data sets on different standard libraries. Ranges, coin flips
// and shuffles are therefore derived here by hand from the raw 64-bit outputs.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace gt::data::synth {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}

  // Independent streams from one seed (SplitMix64 of seed and stream), so adding draws to one stream cannot shift
  // another.
  static Rng stream(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t z = seed + (stream + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return Rng(z ^ (z >> 31));
  }

  // Uniform in [0, n) for n > 0: outputs at or above the largest multiple of n below 2^64 are redrawn, so no value
  // is favoured.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t excess = (UINT64_MAX % n + 1) % n;  // 2^64 mod n
    for (;;)
      if (std::uint64_t x = gen_(); x <= UINT64_MAX - excess) return x % n;
  }

  // Uniform in [0, 1), from the top 53 bits (exactly representable as a double).
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }

  // True with probability p.
  bool chance(double p) { return uniform() < p; }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

  // Fisher-Yates; std::shuffle's algorithm is implementation-defined.
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::mt19937_64 gen_;
};

}  // namespace gt::data::synth
