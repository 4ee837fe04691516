// The GRPO config: the committed file holds the published run's settings, the defaults equal them, and mistakes are
// errors naming the file and the key.
#include <gtest/gtest.h>

#include "grpo_fixture.h"
#include "rl/grpo_config.h"
#include "support/expect_error.h"

using namespace gt;
using namespace gt::rl;
using namespace gt::testing;

namespace {

json minimal() { return {{"model", {{"dir", "m"}}}, {"data", {{"train", "d.jsonl"}}}, {"out_dir", "o"}}; }

void expect_config_error(const json& patch, std::initializer_list<const char*> parts) {
  json j = minimal();
  j.merge_patch(patch);
  SCOPED_TRACE(j.dump());
  expect_error([&] { parse_grpo_config(j, "cfg.json"); }, parts);
}

}  // namespace

TEST(GrpoConfig, TheCommittedConfigHoldsThePublishedSettings) {
  const GrpoConfig c = load_grpo_config(GT_CONFIGS "/grpo.json");
  EXPECT_EQ(c.adafactor.lr, 1e-6);
  EXPECT_EQ(c.optimizer, train::OptimizerKind::Adafactor);
  EXPECT_FALSE(c.adafactor.scale_parameter);
  EXPECT_FALSE(c.adafactor.relative_step);
  EXPECT_EQ(c.num_generations, 4);
  EXPECT_EQ(c.temperature, 1.0);
  EXPECT_EQ(c.top_p, 0.9);
  EXPECT_EQ(c.max_completion_length, 512);
  EXPECT_EQ(c.epsilon_low, 0.2);
  EXPECT_EQ(c.epsilon_high, 0.2);
  EXPECT_EQ(c.beta, 0.0);
  EXPECT_EQ(c.loss_type, LossType::Dapo);
  EXPECT_EQ(c.scale_rewards, ScaleRewards::Group);
  EXPECT_EQ(c.num_iterations, 1);
  EXPECT_FALSE(c.mask_truncated_completions);
  EXPECT_EQ(c.max_steps, 570);
  EXPECT_EQ(c.tokenizer, "runs/sft/final/tokenizer.json");  // from model.dir
  EXPECT_EQ(c.reward_weights.to_json(), RewardWeights{}.to_json());
  // A config that leaves them out gets the same training settings (only max_steps is the published run's own).
  json j = minimal();
  j["max_steps"] = 570;
  EXPECT_EQ(training_identity(parse_grpo_config(j, "cfg.json")).dump(), training_identity(c).dump());
  // to_json writes every default, and reads back to the same config.
  EXPECT_EQ(to_json(parse_grpo_config(to_json(c), "again.json")), to_json(c));
}

TEST(GrpoConfig, UnknownKeysWrongTypesAndBadValuesNameTheFileAndKey) {
  expect_config_error({{"num_generation", 4}}, {"cfg.json", "unknown key 'num_generation'"});
  expect_config_error({{"loss", {{"epsilon_lo", 0.2}}}},
                      {"unknown key 'loss.epsilon_lo' (did you mean 'loss.epsilon_low'?)"});
  expect_config_error({{"generation", {{"temperature", "1"}}}}, {"'generation.temperature' must be a number"});
  expect_config_error({{"generation", {{"temperature", 0}}}}, {"'generation.temperature' must be > 0"});
  expect_config_error({{"generation", {{"num_generations", 1}}}}, {"'generation.num_generations' must be >= 2"});
  expect_config_error({{"generation", {{"top_p", 1.5}}}}, {"'generation.top_p' must be in (0, 1]"});
  expect_config_error({{"loss", {{"type", "ppo"}}}}, {"'loss.type' must be one of dapo, grpo, bnpo, dr_grpo"});
  expect_config_error({{"loss", {{"scale_rewards", true}}}},
                      {"'loss.scale_rewards' must be one of group, batch, none"});
  expect_config_error({{"loss", {{"beta", -0.1}}}}, {"'loss.beta' must be >= 0"});
  expect_config_error({{"loss", {{"epsilon_low", 1.0}}}}, {"'loss.epsilon_low' must be in [0, 1)"});
  expect_config_error({{"batch_size", 3}}, {"'batch_size'", "must divide prompts_per_step * num_generations (8)"});
  expect_config_error({{"num_iterations", 0}}, {"'num_iterations' must be >= 1"});
  expect_config_error({{"reward", {{"weights", {{"recal", 0.2}}}}}},
                      {"cfg.json", "reward.weights", "unknown reward weight 'recal'"});
  expect_config_error({{"reward", {{"weights", 3}}}}, {"'reward.weights' must be an object or a file name"});
  expect_config_error({{"reward", {{"timeout_s", 0}}}}, {"'reward.timeout_s' must be > 0"});
  expect_config_error({{"optimizer", {{"lr", "1e-6"}}}}, {"'optimizer.lr' must be a number or null"});
  expect_config_error({{"eval", {{"temperature", -1}}}}, {"'eval.temperature' must be >= 0"});
  expect_config_error({{"model", {{"dir", nullptr}, {"config", "c.json"}}}}, {"missing required key 'tokenizer'"});
  json j = minimal();
  j["data"].erase("train");
  expect_error([&] { parse_grpo_config(j, "cfg.json"); }, {"missing required key 'data.train'"});
  expect_error([] { load_grpo_config("/nonexistent/grpo.json"); }, {"/nonexistent/grpo.json", "cannot open"});
}

TEST(GrpoConfig, TheIdentityLeavesOutWhatMayChangeOnResume) {
  json a = minimal(), b = minimal();
  b.merge_patch({{"out_dir", "elsewhere"},
                 {"eval", {{"every", 7}, {"max_samples", 3}, {"max_new_tokens", 64}}},
                 {"checkpoint", {{"every", 9}, {"keep_last", 1}}},
                 {"checkpoint_layers", true},
                 {"log_file", "m.jsonl"},
                 {"log_completions", 0},
                 {"reward", {{"timeout_s", 5}}},
                 {"data", {{"train", "moved.jsonl"}, {"heldout", "h.jsonl"}}}});
  EXPECT_EQ(training_identity(parse_grpo_config(a, "a")), training_identity(parse_grpo_config(b, "b")));
  for (const json& change : {json{{"loss", {{"type", "grpo"}}}}, json{{"reward", {{"weights", {{"recall", 0.3}}}}}},
                             json{{"reward", {{"command", "echo 1"}}}}, json{{"batch_size", 2}}}) {
    json c = minimal();
    c.merge_patch(change);
    EXPECT_NE(training_identity(parse_grpo_config(a, "a")), training_identity(parse_grpo_config(c, "c")))
        << change.dump();
  }
}
