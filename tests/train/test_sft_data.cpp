// Truncation policies on hand-made masks and on rendered samples, the data report, and the lr schedules.
#include <gtest/gtest.h>

#include <cmath>

#include "sft_fixture.h"
#include "train/lr_schedule.h"
#include "train/sft_data.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;

namespace {

struct Seq {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
};

// <bos> (2), then `prompt` ids 10, 11, ..., then `target` ids 50, 51, ... (trainable), then `tail` 90, 91, ...
Seq make(int prompt, int target, int tail = 0) {
  Seq s{{2}, {0}};
  for (int i = 0; i < prompt; ++i) s.ids.push_back(10 + i), s.mask.push_back(0);
  for (int i = 0; i < target; ++i) s.ids.push_back(50 + i), s.mask.push_back(1);
  for (int i = 0; i < tail; ++i) s.ids.push_back(90 + i), s.mask.push_back(0);
  return s;
}

}  // namespace

TEST(Truncation, PromptLeftCutsThePromptAfterBosAndKeepsTheWholeTarget) {
  Seq s = make(6, 3);  // 10 tokens
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 10, Truncation::PromptLeft), CutResult::Fits);
  EXPECT_EQ(s.ids.size(), 10u);
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 6, Truncation::PromptLeft), CutResult::PromptCut);
  EXPECT_EQ(s.ids, (std::vector<int32_t>{2, 14, 15, 50, 51, 52}));
  EXPECT_EQ(s.mask, (std::vector<uint8_t>{0, 0, 0, 1, 1, 1}));
  // Down to BOS + target: the target's first token is then predicted from BOS alone.
  s = make(6, 3);
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 4, Truncation::PromptLeft), CutResult::PromptCut);
  EXPECT_EQ(s.ids, (std::vector<int32_t>{2, 50, 51, 52}));
}

TEST(Truncation, PromptLeftFallsBackToKeepingTheStartWhenTheTargetCannotFit) {
  Seq s = make(2, 6);  // BOS + target = 7 > 5: keep the first 5 tokens, the target's tail goes
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 5, Truncation::PromptLeft), CutResult::TargetCut);
  EXPECT_EQ(s.ids, (std::vector<int32_t>{2, 10, 11, 50, 51}));
  EXPECT_EQ(s.mask, (std::vector<uint8_t>{0, 0, 0, 1, 1}));
  s = make(6, 6);  // the prompt alone fills max_length: nothing left to train on
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 5, Truncation::PromptLeft), CutResult::Dropped);
}

TEST(Truncation, KeepStartAndDrop) {
  Seq s = make(3, 3, 2);  // cutting only the untrained tail is a prompt-side cut
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 7, Truncation::KeepStart), CutResult::PromptCut);
  EXPECT_EQ(s.ids, (std::vector<int32_t>{2, 10, 11, 12, 50, 51, 52}));
  s = make(3, 3);
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 5, Truncation::KeepStart), CutResult::TargetCut);
  EXPECT_EQ(s.ids, (std::vector<int32_t>{2, 10, 11, 12, 50}));
  s = make(3, 3);
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 5, Truncation::Drop), CutResult::Dropped);
  EXPECT_EQ(s.ids.size(), 7u);
  EXPECT_EQ(truncate_sample(s.ids, s.mask, 7, Truncation::Drop), CutResult::Fits);
}

TEST(Truncation, TheDataReportCountsEachOutcome) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const SftDataset full = load_sft_dataset(f.train, tok, 4096, Truncation::PromptLeft);
  ASSERT_EQ(full.report.kept, 6);
  int64_t longest_target = 0, longest = 0;
  for (const TokenizedSample& s : full.samples) {
    EXPECT_EQ(s.ids[0], 2);
    longest_target = std::max(longest_target, s.trainable);
    longest = std::max<int64_t>(longest, static_cast<int64_t>(s.ids.size()));
  }
  EXPECT_EQ(full.report.longest, longest);
  EXPECT_EQ(full.report.prompt_cut + full.report.target_cut, 0);

  // Room for every target and a little prompt: each sample loses prompt only, and keeps its whole target.
  const int64_t len = longest_target + 40;
  const SftDataset cut = load_sft_dataset(f.train, tok, len, Truncation::PromptLeft);
  EXPECT_EQ(cut.report.kept, 6);
  EXPECT_EQ(cut.report.trainable_tokens, full.report.trainable_tokens);
  EXPECT_EQ(cut.report.prompt_cut, 6);
  for (const TokenizedSample& s : cut.samples) EXPECT_LE(static_cast<int64_t>(s.ids.size()), len);
  EXPECT_NE(cut.fingerprint, full.fingerprint);

  const SftDataset dropped = load_sft_dataset(f.train, tok, longest - 1, Truncation::Drop);
  EXPECT_GE(dropped.report.dropped_too_long, 1);
  EXPECT_EQ(dropped.report.kept + dropped.report.dropped_too_long, 6);
  EXPECT_THROW(load_sft_dataset(f.train, tok, 8, Truncation::Drop), std::exception);  // nothing left
}

TEST(LrSchedule, MatchesTransformersSchedules) {
  // get_constant_schedule_with_warmup / linear / cosine (half a cycle), warmup 4 of 20 steps.
  EXPECT_EQ(lr_factor(ScheduleKind::None, 0, 20, 0), 1.0);
  EXPECT_EQ(lr_factor(ScheduleKind::None, 4, 20, 0), 0.0);
  EXPECT_EQ(lr_factor(ScheduleKind::None, 4, 20, 2), 0.5);
  EXPECT_EQ(lr_factor(ScheduleKind::None, 4, 20, 19), 1.0);
  EXPECT_EQ(lr_factor(ScheduleKind::Linear, 4, 20, 4), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(ScheduleKind::Linear, 4, 20, 12), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(ScheduleKind::Linear, 4, 20, 19), 1.0 / 16);
  EXPECT_EQ(lr_factor(ScheduleKind::Linear, 4, 20, 20), 0.0);
  EXPECT_DOUBLE_EQ(lr_factor(ScheduleKind::Cosine, 4, 20, 12), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(ScheduleKind::Cosine, 0, 20, 5), 0.5 * (1 + std::cos(M_PI * 0.25)));
  EXPECT_NEAR(lr_factor(ScheduleKind::Cosine, 0, 20, 20), 0.0, 1e-16);
}
