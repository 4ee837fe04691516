// The Gemma 4 graph against transformers 5.17 (tests/golden/make_model_fixtures.py): logits and loss within 1e-4
// absolute, every parameter's gradient within 1e-4 relative (infinity norms), with and without per-layer
// gradient checkpointing.
#include <gtest/gtest.h>

#include <cstdio>

#include "autograd/ops.h"
#include "model/gemma4.h"
#include "model/safetensors.h"
#include "golden_helpers.h"

using namespace gt;
using gt::testing::fixture;

namespace {

struct Result {
  Tensor logits, loss;
};

Result forward_backward(Gemma4& m, const Tensor& ids, bool checkpoint_layers) {
  m.state().zero_grad();
  ForwardOptions fo;
  fo.checkpoint_layers = checkpoint_layers;
  Tensor logits = m.logits(ids, fo);
  Tensor loss = causal_lm_loss(logits, ids);
  loss.backward();
  return {logits, loss};
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, LogitsLossAndEveryGradient) {
  const std::string name = GetParam();
  const SafetensorsFile g = SafetensorsFile::open(fixture(name) + "/golden.safetensors");
  const Tensor ids = g.get("input_ids");
  const int64_t T = ids.size(1);
  LoadOptions lo;
  lo.storage = StoragePolicy::F32;  // the reference ran in float32, its embedding scales too
  lo.log = [](const std::string&) {};
  Gemma4 m = Gemma4::load(fixture(name), lo);

  for (bool ckpt : {false, true}) {
    SCOPED_TRACE(ckpt ? "with per-layer checkpointing" : "without checkpointing");
    const Result r = forward_backward(m, ids, ckpt);
    const double dl = gt::testing::max_abs_diff(r.logits.reshape({T, -1}), g.get("logits"));
    const double dloss = std::fabs(r.loss.item() - g.get("loss").item());
    EXPECT_LE(dl, 1e-4);
    EXPECT_LE(dloss, 1e-4);
    double worst = 0;
    std::string worst_name;
    int64_t compared = 0;
    for (const auto& [pname, p] : m.state().items()) {
      if (!p.requires_grad()) continue;
      ASSERT_TRUE(g.contains("grad." + pname)) << pname;
      ASSERT_TRUE(p.has_grad()) << "no gradient reached " << pname;
      const double e = gt::testing::rel_inf_error(p.grad(), g.get("grad." + pname));
      EXPECT_LE(e, 1e-4) << pname;
      if (e > worst) {
        worst = e;
        worst_name = pname;
      }
      ++compared;
    }
    int64_t in_fixture = 0;
    for (const auto& e : g.entries()) in_fixture += e.name.rfind("grad.", 0) == 0;
    EXPECT_EQ(compared, in_fixture);
    std::printf("[golden] %s%s: max|logits diff| %.3g, |loss diff| %.3g, worst gradient rel. error %.3g (%s), %lld "
                "gradients\n",
                name.c_str(), ckpt ? " +checkpoint" : "", dl, dloss, worst, worst_name.c_str(),
                static_cast<long long>(compared));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::Values("a_causal_ple", "b_cond_mqa", "c_causal_plain"));

TEST(Gemma4Checkpointing, SameForwardBitwiseAndSameGradients) {
  LoadOptions lo;
  lo.log = [](const std::string&) {};
  Gemma4 m = Gemma4::load(fixture("a_causal_ple"), lo);
  const Tensor ids = SafetensorsFile::open(fixture("a_causal_ple") + "/golden.safetensors").get("input_ids");
  const Result plain = forward_backward(m, ids, false);
  std::vector<std::vector<float>> grads;
  for (const auto& [n, p] : m.state().items())
    if (p.requires_grad()) grads.push_back(p.grad().to_floats());
  const Result ck = forward_backward(m, ids, true);
  EXPECT_EQ(plain.logits.to_floats(), ck.logits.to_floats());
  EXPECT_EQ(plain.loss.item(), ck.loss.item());
  size_t i = 0;
  for (const auto& [n, p] : m.state().items()) {
    if (p.requires_grad()) {
      EXPECT_EQ(p.grad().to_floats(), grads[i++]) << n;
    }
  }
}

TEST(Gemma4Sparse, PerLayerTableGetsRowSparseGradient) {
  LoadOptions lo;
  lo.log = [](const std::string&) {};
  Gemma4 m = Gemma4::load(fixture("a_causal_ple"), lo);
  const Tensor ids = SafetensorsFile::open(fixture("a_causal_ple") + "/golden.safetensors").get("input_ids");
  forward_backward(m, ids, false);
  const SparseRows s = sparse_grad(m.state().at("embed_tokens_per_layer.weight"));
  ASSERT_TRUE(s.defined());
  std::vector<int64_t> want;
  for (int64_t id : ids.to_ids())
    if (id != m.config().pad_token_id) want.push_back(id);
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  EXPECT_EQ(s.rows.to_ids(), want);  // unique ids, the pad row excluded (padding_idx)
}

TEST(Gemma4Storage, KeepEqualsF32ForFloatCheckpoints) {
  // a is float32 on disk, c float16 (widened on read): keeping the storage dtype changes nothing.
  for (const char* name : {"a_causal_ple", "c_causal_plain"}) {
    LoadOptions keep, f32;
    keep.log = f32.log = [](const std::string&) {};
    f32.storage = StoragePolicy::F32;
    const Gemma4 a = Gemma4::load(fixture(name), keep), b = Gemma4::load(fixture(name), f32);
    const Tensor ids = SafetensorsFile::open(fixture(name) + "/golden.safetensors").get("input_ids");
    NoGradGuard ng;
    EXPECT_EQ(a.logits(ids).to_floats(), b.logits(ids).to_floats()) << name;
  }
}

TEST(Gemma4Storage, Bf16KeepsTheCheckpointViewsAndTheBf16EmbedScale) {
  LoadOptions lo;
  lo.log = [](const std::string&) {};
  Gemma4 m = Gemma4::load(fixture("b_cond_mqa"), lo);
  EXPECT_EQ(m.state().at("embed_tokens.weight").dtype(), DType::BF16);
  // transformers multiplies by sqrt(48) cast to the table's dtype: 6.9375 for a bf16 table, 6.9282 for an f32
  // one holding the same values. The residual stream carries that scale to the logits.
  LoadOptions f32 = lo;
  f32.storage = StoragePolicy::F32;
  Gemma4 ref = Gemma4::load(fixture("b_cond_mqa"), f32);
  const Tensor ids = Tensor::from_ids({5, 9, 11}, {1, 3});
  NoGradGuard ng;
  const double d = gt::testing::max_abs_diff(m.logits(ids), ref.logits(ids));
  EXPECT_GT(d, 0.0);
  EXPECT_LT(d, 0.5);
}

TEST(Gemma4HeadLoss, ChunkedEqualsMaterializedLogits) {
  for (const char* name : {"a_causal_ple", "c_causal_plain"}) {  // with and without softcap
    LoadOptions lo;
    lo.log = [](const std::string&) {};
    Gemma4 m = Gemma4::load(fixture(name), lo);
    const SafetensorsFile g = SafetensorsFile::open(fixture(name) + "/golden.safetensors");
    const Tensor ids = g.get("input_ids");
    forward_backward(m, ids, false);
    std::vector<std::vector<float>> ref;
    for (const auto& [n, p] : m.state().items())
      if (p.requires_grad()) ref.push_back(p.grad().to_floats());
    m.state().zero_grad();
    Tensor loss = m.head_loss(m.hidden_states(ids), next_token_targets(ids), 4);  // several chunks, the last one short
    EXPECT_LE(std::fabs(loss.item() - g.get("loss").item()), 1e-4) << name;
    loss.backward();
    size_t i = 0;
    for (const auto& [n, p] : m.state().items()) {
      if (!p.requires_grad()) continue;
      const Tensor want = Tensor::from_vector(ref[i], p.shape());
      EXPECT_LE(gt::testing::rel_inf_error(p.grad(), want), 1e-5) << name << " " << n;
      ++i;
    }
  }
}

}  // namespace
