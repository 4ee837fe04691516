// Packing (train/sft_packing.h): best-fit decreasing, a packed row computing each sample as if alone (logits and
// gradients), and a packed SFT run on the tiny Gemma 4 (sliding window 4, KV-shared layers).
#include <gtest/gtest.h>

#include <cmath>

#include "sft_fixture.h"
#include "train/sft.h"
#include "train/sft_packing.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;

namespace {

TokenizedSample sample_of_length(int64_t n) {
  TokenizedSample s;
  s.id = "len" + std::to_string(n);
  s.ids.assign(static_cast<size_t>(n), 5);
  s.mask.assign(static_cast<size_t>(n), 1);
  s.mask[0] = 0;
  s.first_trainable = 1;
  s.trainable = n - 1;
  return s;
}

SftDataset fixture_data(const SftFixture& f) {
  return load_sft_dataset(f.train, data::Tokenizer::from_file(f.tokenizer), 1024, Truncation::PromptLeft);
}

std::vector<int64_t> ids_of(const std::vector<const TokenizedSample*>& row) {
  std::vector<int64_t> ids;
  for (const TokenizedSample* s : row) ids.insert(ids.end(), s->ids.begin(), s->ids.end());
  return ids;
}

}  // namespace

TEST(SftPacking, BestFitDecreasingNeverCutsASample) {
  std::vector<TokenizedSample> d;
  for (int64_t n : {7, 3, 5, 5, 2, 8, 10}) d.push_back(sample_of_length(n));
  const std::vector<PackedSequence> p = pack_bfd(d, 10);
  // Longest first: 10 alone, 8 opens a sequence (room 2), 7 another (room 3), 5 a third (room 5), the next 5
  // fills that one, 3 fits only the room of 3, 2 the room of 2.
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].samples, (std::vector<int64_t>{6}));
  EXPECT_EQ(p[1].samples, (std::vector<int64_t>{5, 4}));
  EXPECT_EQ(p[2].samples, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(p[3].samples, (std::vector<int64_t>{2, 3}));
  for (const PackedSequence& s : p) EXPECT_EQ(s.tokens, 10);
  const PackingReport r = packing_report(p, 7, 10);
  EXPECT_EQ(r.tokens, 40);
  EXPECT_EQ(r.padding_unpacked(), 30);
  EXPECT_EQ(r.padding_packed(), 0);
  EXPECT_EQ(r.to_json()["sequences_saved"], 3);
  EXPECT_EQ(one_per_sequence(d).size(), d.size());
}

// (b) Three samples in one row (with sliding window 4 and KV-shared layers inside each) give each sample the logits
// of its own forward. Not bit for bit: the row's matrix products and the attention's tiles see the sample's rows at
// other offsets and in taller blocks, so float32 sums may round differently (the same arithmetic up to order); the
// bound is float32 rounding through five layers.
TEST(SftPacking, APackedRowGivesEachSampleItsOwnLogits) {
  SftFixture f;
  const SftDataset d = fixture_data(f);
  const Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 5);
  const std::vector<const TokenizedSample*> row = {&d.samples[0], &d.samples[1], &d.samples[2]};
  const std::vector<int64_t> ids = ids_of(row);
  const int64_t T = static_cast<int64_t>(ids.size());
  std::vector<int64_t> seg;
  for (size_t k = 0; k < row.size(); ++k) seg.insert(seg.end(), row[k]->ids.size(), static_cast<int64_t>(k));
  NoGradGuard no_grad;
  ForwardOptions fo;
  fo.segment_ids = Tensor::from_ids(seg, {1, T});
  const std::vector<float> packed = m.logits(Tensor::from_ids(ids, {1, T}), fo).to_floats();
  const size_t V = static_cast<size_t>(m.config().vocab_size);
  size_t o = 0;
  double worst = 0, scale = 0;
  for (const TokenizedSample* s : row) {
    const std::vector<int64_t> own(s->ids.begin(), s->ids.end());
    const std::vector<float> alone =
        m.logits(Tensor::from_ids(own, {1, static_cast<int64_t>(own.size())})).to_floats();
    for (size_t i = 0; i < alone.size(); ++i) {
      worst = std::max(worst, std::fabs(static_cast<double>(packed[o * V + i]) - alone[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(alone[i])));
    }
    o += own.size();
  }
  EXPECT_LE(worst, 1e-5 * scale);
  RecordProperty("worst_abs_diff", std::to_string(worst));
  // Without segment ids the later samples would see the earlier ones: the check above is not vacuous.
  const std::vector<float> unsegmented = m.logits(Tensor::from_ids(ids, {1, T})).to_floats();
  const size_t second = row[0]->ids.size() * V;
  double moved = 0;
  for (size_t i = second; i < second + V; ++i) moved = std::max(moved, std::fabs(double(unsegmented[i]) - packed[i]));
  EXPECT_GT(moved, 1e-3 * scale);
}

// ... and the packed loss and its gradients are the unpacked batch's (the same trainable tokens over the same
// denominator), to float32 rounding.
TEST(SftPacking, ThePackedLossAndGradientsEqualTheUnpackedBatch) {
  SftFixture f;
  const SftDataset d = fixture_data(f);
  Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 5);
  const std::vector<const TokenizedSample*> three = {&d.samples[0], &d.samples[1], &d.samples[2]};
  double denominator = 0;
  for (const TokenizedSample* s : three) denominator += static_cast<double>(s->trainable);
  const Tensor unpacked = batch_loss(m, three, {}, denominator);
  unpacked.backward();
  const std::vector<float> want = take_gradients(m);
  // One row of two samples and one of one: padding and segments in the same batch.
  const Tensor packed = packed_loss(m, {{three[0], three[1]}, {three[2]}}, {}, denominator);
  packed.backward();
  const std::vector<float> got = take_gradients(m);
  EXPECT_NEAR(packed.item(), unpacked.item(), 1e-6 * unpacked.item());
  double diff = 0, scale = 0;
  for (size_t k = 0; k < want.size(); ++k) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[k]) - want[k]));
    scale = std::max(scale, std::fabs(static_cast<double>(want[k])));
  }
  EXPECT_LE(diff, 1e-5 * scale);
  // Per-layer checkpointing recomputes the same segmented layers in the backward: the same bits.
  ForwardOptions ckpt;
  ckpt.checkpoint_layers = true;
  packed_loss(m, {{three[0], three[1]}, {three[2]}}, ckpt, denominator).backward();
  EXPECT_EQ(take_gradients(m), got);
  // One sample a row is batch_loss itself, bit for bit.
  EXPECT_EQ(packed_loss(m, {{three[0]}, {three[1]}}, {}, 7.0).item(), batch_loss(m, {three[0], three[1]}, {}, 7.0).item());
}

// (c) A packed run trains, counts every trainable token once an epoch, and reports what packing saved.
TEST(SftPacking, APackedRunTrainsAndReportsWhatPackingSaved) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 8}, {"packing", true}, {"data", {{"max_length", 2048}}}});
  const SftResult r = run_sft(c);
  EXPECT_TRUE(r.finished);
  const auto packing = read_records(c.log_path(), "packing");
  ASSERT_EQ(packing.size(), 1u);
  const int64_t samples = packing[0]["samples"], sequences = packing[0]["sequences"];
  EXPECT_EQ(samples, 6);
  EXPECT_LT(sequences, samples);
  EXPECT_EQ(packing[0]["sequences_saved"], samples - sequences);
  EXPECT_EQ(r.step, 8 * sequences);  // batch 1: one packed sequence a step
  const auto data = read_records(c.log_path(), "data");
  const auto train = read_records(c.log_path(), "train");
  int64_t epoch_tokens = 0;
  for (int64_t k = 0; k < sequences; ++k) epoch_tokens += train[static_cast<size_t>(k)]["trainable_tokens"].get<int64_t>();
  EXPECT_EQ(epoch_tokens, data[0]["trainable_tokens"].get<int64_t>());
  const auto eval = read_records(c.log_path(), "eval");
  ASSERT_GE(eval.size(), 2u);
  EXPECT_LT(eval.back()["eval_loss"].get<double>(), 0.7 * eval.front()["eval_loss"].get<double>());
}
