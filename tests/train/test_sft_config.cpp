// The SFT config: the committed file holds the published defaults, and every kind of mistake is an error naming the
// file and the key.
#include <gtest/gtest.h>

#include "sft_fixture.h"
#include "support/expect_error.h"
#include "train/sft_config.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;

namespace {

json minimal() {
  return {{"model", {{"dir", "m"}}}, {"tokenizer", "t.json"}, {"data", {{"train", "d.jsonl"}}}, {"out_dir", "o"}};
}

void expect_config_error(const json& patch, std::initializer_list<const char*> parts) {
  json j = minimal();
  j.merge_patch(patch);
  SCOPED_TRACE(j.dump());
  expect_error([&] { parse_sft_config(j, "cfg.json"); }, parts);
}

}  // namespace

TEST(SftConfig, TheCommittedConfigHoldsThePublishedDefaults) {
  const SftConfig c = load_sft_config(GT_FIXTURES "/../../configs/sft.json");
  EXPECT_EQ(c.optimizer, OptimizerKind::Adafactor);
  EXPECT_EQ(c.adafactor.lr, 2e-5);
  EXPECT_FALSE(c.adafactor.scale_parameter);
  EXPECT_FALSE(c.adafactor.relative_step);
  EXPECT_FALSE(c.adafactor.beta1.has_value());
  EXPECT_EQ(c.adafactor.eps1, 1e-30);
  EXPECT_EQ(c.adafactor.eps2, 1e-3);
  EXPECT_EQ(c.adafactor.clip_threshold, 1.0);
  EXPECT_EQ(c.adafactor.decay_rate, -0.8);
  EXPECT_EQ(c.grad_accumulation, 1);
  EXPECT_EQ(c.schedule, ScheduleKind::None);
  EXPECT_EQ(c.warmup_steps, 0);
  EXPECT_EQ(c.grad_clip, 0.0);
  EXPECT_EQ(c.max_length, 1024);
  EXPECT_EQ(c.epochs, 3);
  // The same values are what a config that leaves them out gets.
  const SftConfig d = parse_sft_config(minimal(), "cfg.json");
  EXPECT_EQ(training_identity(d)["optimizer"], training_identity(c)["optimizer"]);
  EXPECT_EQ(d.max_length, c.max_length);
  EXPECT_EQ(d.truncation, c.truncation);
  EXPECT_EQ(d.epochs, c.epochs);
}

TEST(SftConfig, UnknownKeysAreErrorsAtEveryLevel) {
  expect_config_error({{"epoch", 3}}, {"cfg.json", "unknown key 'epoch'"});
  expect_config_error({{"optimizer", {{"betas", {0.9, 0.99}}}}}, {"cfg.json", "unknown key 'optimizer.betas'"});
  expect_config_error({{"data", {{"heldout_file", "x"}}}}, {"unknown key 'data.heldout_file'"});
  // Keys of the other optimizer are unknown too.
  expect_config_error({{"optimizer", {{"name", "adamw"}, {"eps1", 1e-30}}}}, {"unknown key 'optimizer.eps1'"});
  expect_config_error({{"optimizer", {{"beta2", 0.99}}}}, {"unknown key 'optimizer.beta2'"});
}

// Root cause D and a silent wrong result (issue 19): batch_size x grad_accumulation overflowed to 0 and divided by
// it, and INT64_MAX trained 0 steps; counts are bounded where they are read.
TEST(SftConfig, CountsBeyondTheirRangeAreErrors) {
  expect_config_error({{"batch_size", INT64_MAX}},
                      {"cfg.json", "'batch_size' must be <= 2147483648, got 9223372036854775807"});
  expect_config_error({{"grad_accumulation", int64_t{1} << 32}}, {"'grad_accumulation' must be <= 2147483648"});
  expect_config_error({{"epochs", UINT64_MAX}}, {"'epochs' must be <= 2147483648, got 18446744073709551615"});
}

TEST(SftConfig, WrongTypesNameTheKeyAndTheType) {
  expect_config_error({{"epochs", "3"}}, {"cfg.json", "'epochs' must be an integer, got string"});
  expect_config_error({{"epochs", 2.5}}, {"'epochs' must be an integer, got number"});
  expect_config_error({{"optimizer", {{"lr", "2e-5"}}}}, {"'optimizer.lr' must be a number or null, got string"});
  expect_config_error({{"checkpoint_layers", 1}}, {"'checkpoint_layers' must be true or false, got integer"});
  expect_config_error({{"data", {{"train", 5}}}}, {"'data.train' must be a string"});
  expect_config_error({{"seed", -1}}, {"'seed' must be a non-negative integer, got -1"});
  expect_config_error({{"eval", 100}}, {"'eval' must be an object, got integer"});
  expect_error([] { parse_sft_config(json::array(), "cfg.json"); }, {"cfg.json", "must be an object"});
}

TEST(SftConfig, BadValuesAndMissingKeys) {
  expect_config_error({{"epochs", 0}}, {"'epochs' must be >= 1, got 0"});
  expect_config_error({{"data", {{"truncation", "left"}}}},
                      {"'data.truncation' must be one of prompt_left, keep_start, drop, got \"left\""});
  expect_config_error({{"schedule", {{"name", "step"}}}}, {"'schedule.name' must be one of none, linear, cosine"});
  expect_config_error({{"grad_clip", -1}}, {"'grad_clip' must be >= 0"});
  expect_config_error({{"optimizer", {{"lr", -1.0}}}}, {"cfg.json", "lr must be >= 0"});
  expect_config_error({{"optimizer", {{"name", "adamw"}, {"beta2", 1.0}}}}, {"cfg.json", "betas must be in [0, 1)"});
  expect_config_error({{"optimizer", {{"relative_step", true}, {"lr", nullptr}}}, {"schedule", {{"name", "linear"}}}},
                      {"'schedule' must be none"});
  expect_config_error({{"model", {{"config", "c.json"}}}}, {"exactly one of 'dir'"});
  expect_config_error({{"model", {{"init_seed", 3}}}}, {"'model.init_seed' only applies to random initialisation"});
  for (const char* key : {"tokenizer", "out_dir", "model"}) {
    json j = minimal();
    j.erase(key);
    expect_error([&] { parse_sft_config(j, "cfg.json"); }, {"cfg.json", "missing required key", key});
  }
  json j = minimal();
  j["data"].erase("train");
  expect_error([&] { parse_sft_config(j, "cfg.json"); }, {"missing required key 'data.train'"});
  expect_error([] { load_sft_config("/nonexistent/sft.json"); }, {"/nonexistent/sft.json", "cannot open"});
}

TEST(SftConfig, UnsupportedOptionsSaySo) {
  expect_config_error({{"packing", true}, {"packing_strategy", "wrapped"}},
                      {"'packing_strategy' must be \"bfd\"", "\"wrapped\" cuts samples across sequences"});
  expect_config_error({{"batch_size", 0}}, {"'batch_size'"});
  // Their supported values are accepted, so a config may state them.
  json j = minimal();
  j.merge_patch({{"packing", false}, {"batch_size", 3}});
  EXPECT_FALSE(parse_sft_config(j, "cfg.json").packing);
  j.merge_patch({{"packing", true}, {"packing_strategy", "bfd"}});
  const SftConfig c = parse_sft_config(j, "cfg.json");
  EXPECT_TRUE(c.packing);
  EXPECT_EQ(to_json(c)["packing_strategy"], "bfd");
  EXPECT_EQ(training_identity(c)["packing"]["strategy"], "bfd");
  // Off, the identity is what it was before packing existed (old checkpoints still resume).
  EXPECT_FALSE(training_identity(parse_sft_config(minimal(), "cfg.json")).contains("packing"));
}

TEST(SftConfig, RelativeStepTakesNoLearningRate) {
  json j = minimal();
  j["optimizer"] = {{"relative_step", true}, {"scale_parameter", true}, {"warmup_init", true}};
  const SftConfig c = parse_sft_config(j, "cfg.json");
  EXPECT_FALSE(c.adafactor.lr.has_value());
  EXPECT_EQ(c.lr(), 0.0);
  expect_config_error({{"optimizer", {{"relative_step", true}, {"lr", 1e-3}}}}, {"cfg.json", "relative_step"});
}

TEST(SftConfig, TheIdentityLeavesOutWhatMayChangeOnResume) {
  json a = minimal(), b = minimal();
  b.merge_patch({{"out_dir", "elsewhere"},
                 {"eval", {{"every", 7}, {"max_samples", 3}}},
                 {"checkpoint", {{"every", 9}, {"keep_last", 1}}},
                 {"checkpoint_layers", true},
                 {"log_file", "m.jsonl"},
                 {"data", {{"train", "moved.jsonl"}, {"heldout", "h.jsonl"}}}});
  EXPECT_EQ(training_identity(parse_sft_config(a, "a")), training_identity(parse_sft_config(b, "b")));
  b.merge_patch({{"grad_accumulation", 2}});
  EXPECT_NE(training_identity(parse_sft_config(a, "a")), training_identity(parse_sft_config(b, "b")));
}
