#pragma once
// Token sampling from one row of logits: temperature, then top-k, then top-p (the order of transformers'
// generate), or greedy argmax at temperature 0.
//
// The random stream is portable: a SplitMix64/xoshiro256** generator and a uniform double built from its top 53
// bits, so the same seed draws the same tokens with any compiler or standard library. Its whole state is four
// integers, saved with a run for an exact resume.
#include <array>
#include <cstdint>
#include <vector>

namespace gt {

struct SamplingOptions {
  double temperature = 1.0;  // 0 = greedy
  int64_t top_k = 0;  // 0 = no limit
  double top_p = 1.0;  // 1 = no limit
  uint64_t seed = 0;
};

class Sampler {
 public:
  // `stream` separates independent sequences drawn with one seed (the G samples of a GRPO group).
  explicit Sampler(SamplingOptions opt, uint64_t stream = 0);

  int64_t sample(const float* logits, int64_t vocab);
  // The tokens that could be drawn from these logits and their renormalised probabilities, most likely first
  // (what sample() draws from; exposed for tests and for logging).
  std::vector<std::pair<int64_t, double>> support(const float* logits, int64_t vocab) const;

  const SamplingOptions& options() const { return opt_; }
  std::array<uint64_t, 4> rng_state() const { return s_; }
  void set_rng_state(const std::array<uint64_t, 4>& s) { s_ = s; }
  double uniform();  // [0, 1)

 private:
  SamplingOptions opt_;
  std::array<uint64_t, 4> s_{};
};

// Index of the largest logit; the first one on ties (as torch.argmax).
int64_t argmax(const float* logits, int64_t vocab);

}  // namespace gt
