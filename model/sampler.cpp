#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/error.h"

namespace gt {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Sampler::Sampler(SamplingOptions opt, uint64_t stream) : opt_(opt) {
  GT_CHECK(opt.temperature >= 0 && std::isfinite(opt.temperature), "sampler: temperature must be >= 0, got ",
           opt.temperature);
  GT_CHECK(opt.top_k >= 0, "sampler: top_k must be >= 0, got ", opt.top_k);
  GT_CHECK(opt.top_p > 0 && opt.top_p <= 1, "sampler: top_p must be in (0, 1], got ", opt.top_p);
  uint64_t x = opt.seed ^ splitmix64(stream);
  for (auto& w : s_) w = splitmix64(x);
}

double Sampler::uniform() {
  // xoshiro256**
  const uint64_t r = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return static_cast<double>(r >> 11) * 0x1.0p-53;
}

int64_t argmax(const float* logits, int64_t vocab) {
  GT_CHECK(vocab > 0, "argmax: empty logits");
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best]) best = i;
  return best;
}

std::vector<std::pair<int64_t, double>> Sampler::support(const float* logits, int64_t vocab) const {
  GT_CHECK(vocab > 0, "sampler: empty logits");
  if (opt_.temperature == 0) return {{argmax(logits, vocab), 1.0}};
  const double inv_t = 1.0 / opt_.temperature;
  const float mx = *std::max_element(logits, logits + vocab);
  GT_CHECK(std::isfinite(mx), "sampler: logits contain no finite maximum (NaN or inf)");
  // Sorting the whole vocabulary (262144 entries) every token would dominate decoding, so candidates are
  // partially sorted in growing prefixes until the prefix holds top_k tokens or top_p of the mass.
  if (opt_.top_k == 0 && opt_.top_p >= 1) {
    std::vector<std::pair<int64_t, double>> all(static_cast<size_t>(vocab));
    double total = 0;
    for (int64_t i = 0; i < vocab; ++i) total += (all[static_cast<size_t>(i)] = {i, std::exp((logits[i] - mx) * inv_t)}).second;
    for (auto& p : all) p.second /= total;
    return all;
  }
  std::vector<int64_t> idx(static_cast<size_t>(vocab));
  std::iota(idx.begin(), idx.end(), 0);
  std::vector<double> w(static_cast<size_t>(vocab));
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) total += (w[static_cast<size_t>(i)] = std::exp((logits[i] - mx) * inv_t));
  auto more_likely = [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  const int64_t k_limit = opt_.top_k > 0 ? std::min(opt_.top_k, vocab) : vocab;
  int64_t n = std::min<int64_t>(64, k_limit);
  while (true) {
    std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), more_likely);
    if (n == k_limit) break;
    if (opt_.top_p < 1) {
      double mass = 0;
      for (int64_t i = 0; i < n; ++i) mass += w[static_cast<size_t>(idx[static_cast<size_t>(i)])];
      if (mass / total >= opt_.top_p) break;
    }
    n = std::min(k_limit, 4 * n);
  }
  // top-k: the mass that top-p measures is renormalised over the k survivors (transformers applies top-k first).
  double kept_total = 0;
  for (int64_t i = 0; i < n; ++i) kept_total += w[static_cast<size_t>(idx[static_cast<size_t>(i)])];
  const double norm = opt_.top_k > 0 ? kept_total : total;
  std::vector<std::pair<int64_t, double>> out;
  double cum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = idx[static_cast<size_t>(i)];
    out.emplace_back(t, w[static_cast<size_t>(t)]);
    cum += w[static_cast<size_t>(t)] / norm;
    // A token stays while the mass before it is below top_p: the smallest prefix reaching top_p, never empty.
    if (opt_.top_p < 1 && cum >= opt_.top_p) break;
  }
  double s = 0;
  for (auto& p : out) s += p.second;
  for (auto& p : out) p.second /= s;
  return out;
}

int64_t Sampler::sample(const float* logits, int64_t vocab) {
  const auto sup = support(logits, vocab);
  if (sup.size() == 1) return sup[0].first;
  const double u = uniform();
  double cum = 0;
  for (const auto& [tok, p] : sup) {
    cum += p;
    if (u < cum) return tok;
  }
  return sup.back().first;  // u within rounding of 1
}

}  // namespace gt
