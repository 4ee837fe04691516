// GRPO's per-token log-probabilities through the chunked head: equal to log_softmax(head(h) / T) gathered at the
// targets on the materialised logits, forward and backward, with and without the final softcap.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "base/error.h"
#include "golden_helpers.h"
#include "model/gemma4.h"
#include "support/gradcheck.h"

using namespace gt;
using namespace gt::testing;

namespace {

Gemma4 load_quiet(const std::string& name) {
  LoadOptions lo;
  lo.log = [](const std::string&) {};
  return Gemma4::load(fixture(name), lo);
}

// Targets for a [2, 5] batch: some positions have none (-100), as prompt and padding positions do in GRPO.
Tensor batch_targets(int64_t V) { return Tensor::from_ids({-100, 3, V - 1, 0, -100, -100, -100, 7, 11, 2}, {2, 5}); }

TEST(HeadLogprobs, EqualTheMaterialisedLogSoftmaxAtTheTargetsForwardAndBackward) {
  for (const char* name : {"a_causal_ple", "c_causal_plain"}) {  // softcap 30, and none
    SCOPED_TRACE(name);
    Gemma4 m = load_quiet(name);
    const int64_t D = m.config().hidden_size, V = m.config().vocab_size;
    // Large hidden values push the logits into the softcap's bend, where its derivative matters.
    const Tensor h0 = randn({2, 5, D}, 17, 40.f);
    const Tensor targets = batch_targets(V);
    const std::vector<int64_t> tv = targets.to_ids();
    for (double temperature : {1.0, 0.7}) {
      SCOPED_TRACE(temperature);
      Tensor h = h0.clone();
      h.requires_grad_(true);
      m.state().zero_grad();
      const Tensor ours = m.head_logprobs(h, targets, temperature, 4);  // six targets: a chunk of 4, a short one
      const std::vector<float> o = ours.to_floats();
      const std::vector<float> upstream = randn({2, 5}, 5).to_floats();
      backward({ours}, {Tensor::from_vector(upstream, {2, 5})});
      const Tensor dh_ours = h.grad().clone(), de_ours = m.state().at("embed_tokens.weight").grad().clone();

      Tensor h2 = h0.clone();
      h2.requires_grad_(true);
      m.state().zero_grad();
      std::vector<int64_t> rows, safe;
      std::vector<float> up;
      for (size_t r = 0; r < tv.size(); ++r)
        if (tv[r] != -100) {
          rows.push_back(static_cast<int64_t>(r));
          safe.push_back(tv[r]);
          up.push_back(upstream[r]);
        }
      const Tensor logits = scale(m.head(h2), 1.0 / temperature).reshape({10, V});
      // The reference gathers the target rows from the full [10, V] logits.
      std::vector<Tensor> picked;
      for (int64_t r : rows) picked.push_back(logits.slice(0, r, r + 1));
      const Tensor ref = token_logprobs(concat(picked, 0), Tensor::from_ids(safe, {static_cast<int64_t>(safe.size())}));
      const std::vector<float> rv = ref.to_floats();
      for (size_t k = 0; k < rows.size(); ++k)
        EXPECT_NEAR(o[static_cast<size_t>(rows[k])], rv[k], 1e-5 * std::max(1.f, std::fabs(rv[k])))
            << "row " << rows[k];
      for (size_t r = 0; r < tv.size(); ++r) {
        if (tv[r] == -100) {
          EXPECT_EQ(o[r], 0.f) << "row " << r;
        }
      }
      backward({ref}, {Tensor::from_vector(up, {static_cast<int64_t>(up.size())})});
      // float32 logits of magnitude up to 30 and sums over V terms: 1e-5 relative to the largest gradient.
      EXPECT_LE(rel_inf_error(dh_ours, h2.grad()), 1e-5);
      EXPECT_LE(rel_inf_error(de_ours, m.state().at("embed_tokens.weight").grad()), 1e-5);
    }
  }
}

TEST(HeadLogprobs, GradientOfTheHiddenStatesMatchesFiniteDifferences) {
  Gemma4 m = load_quiet("a_causal_ple");
  const int64_t D = m.config().hidden_size;
  const Tensor targets = Tensor::from_ids({4, -100, 9}, {1, 3});
  Tensor h = randn({1, 3, D}, 3, 20.f);
  h.requires_grad_(true);
  EXPECT_LE(gradcheck([&](auto& v) { return std::vector<Tensor>{m.head_logprobs(v[0], targets, 0.8, 2)}; }, {h}), 1.0);
}

TEST(HeadLogprobs, RejectsBadShapesAndTemperatures) {
  Gemma4 m = load_quiet("c_causal_plain");
  const Tensor h = Tensor::zeros({1, 2, m.config().hidden_size});
  EXPECT_THROW(m.head_logprobs(h, Tensor::from_ids({1, 2, 3}, {1, 3})), Error);
  EXPECT_THROW(m.head_logprobs(h, Tensor::from_ids({1, 2}, {1, 2}), 0.0), Error);
  EXPECT_THROW(m.head_logprobs(h, Tensor::from_ids({1, 100000}, {1, 2})), Error);
}

}  // namespace
