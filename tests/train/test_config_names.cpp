// Hugging Face / TRL names in run configs (train/config_names.h): either name gives the same run, bit for bit; both
// at once, values without a counterpart and every unknown key are errors that say what to write instead.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/files.h"
#include "rl/grpo_config.h"
#include "sft_fixture.h"
#include "support/error_message.h"
#include "support/expect_error.h"
#include "support/files.h"
#include "train/config_names.h"
#include "train/config_overrides.h"
#include "train/sft_config.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

json minimal_sft() {
  return {{"model", {{"dir", "m"}}}, {"tokenizer", "t.json"}, {"data", {{"train", "d.jsonl"}}}, {"out_dir", "o"}};
}

// merge_patch, keeping the patch's nulls (TRL's "none") that a merge patch would delete.
json patched(json j, const json& patch) {
  j.merge_patch(patch);
  for (const auto& [k, v] : patch.items())
    if (v.is_null()) j[k] = nullptr;
  return j;
}

json sft_json(const json& patch) { return patched(minimal_sft(), patch); }

json grpo_json(const json& patch) {
  return patched({{"model", {{"dir", "m"}}}, {"data", {{"train", "d.jsonl"}}}, {"out_dir", "o"}}, patch);
}

// Ours and theirs for the same settings, every shared key given.
const json kOurs = {{"epochs", 2},
                    {"max_steps", 0},
                    {"seed", 5},
                    {"batch_size", 2},
                    {"grad_accumulation", 2},
                    {"grad_clip", 1.0},
                    {"optimizer", {{"name", "adamw"}, {"lr", 3e-3}, {"weight_decay", 0.0}, {"beta2", 0.99}}},
                    {"schedule", {{"name", "cosine"}, {"warmup_steps", 1}}},
                    {"checkpoint", {{"every", 2}, {"keep_last", 0}}},
                    {"checkpoint_layers", true}};
const json kTheirs = {{"num_train_epochs", 2.0},
                      {"max_steps", -1},
                      {"seed", 5},
                      {"per_device_train_batch_size", 2},
                      {"gradient_accumulation_steps", 2},
                      {"max_grad_norm", 1.0},
                      {"optim", "adamw_torch"},
                      {"learning_rate", 3e-3},
                      {"weight_decay", 0.0},
                      {"adam_beta2", 0.99},
                      {"lr_scheduler_type", "cosine"},
                      {"warmup_steps", 1},
                      {"save_steps", 2},
                      {"save_total_limit", nullptr},
                      {"gradient_checkpointing", true}};

}  // namespace

TEST(ConfigNames, SftSettingsReadTheSameUnderTheirNames) {
  const SftConfig a = parse_sft_config(sft_json(kOurs), "ours.json");
  json theirs = kTheirs;
  theirs.update({{"max_length", 512}, {"truncation_mode", "keep_start"}, {"packing", false}});
  json ours = kOurs;
  ours["data"] = {{"max_length", 512}, {"truncation", "keep_start"}};
  const SftConfig b = parse_sft_config(sft_json(theirs), "theirs.json");
  EXPECT_EQ(to_json(b), to_json(parse_sft_config(sft_json(ours), "ours.json")));
  EXPECT_EQ(b.epochs, 2);
  EXPECT_EQ(b.grad_clip, 1.0);
  EXPECT_EQ(to_json(a)["optimizer"], to_json(b)["optimizer"]);
  // output_dir is out_dir, and satisfies its requirement.
  json j = sft_json({{"output_dir", "runs/x"}});
  j.erase("out_dir");
  EXPECT_EQ(parse_sft_config(j, "cfg.json").out_dir, "runs/x");
}

TEST(ConfigNames, GrpoSettingsReadTheSameUnderTrlNames) {
  const json ours = {{"batch_size", 8},
                     {"data", {{"max_prompt_length", 512}}},
                     {"generation",
                      {{"num_generations", 8}, {"max_completion_length", 256}, {"temperature", 0.9}, {"top_p", 1.0},
                       {"top_k", 0}}},
                     {"loss",
                      {{"type", "bnpo"}, {"beta", 0.04}, {"epsilon_low", 0.2}, {"epsilon_high", 0.28},
                       {"scale_rewards", "none"}, {"mask_truncated_completions", true},
                       {"importance_sampling_level", "sequence"}}},
                     {"num_iterations", 2}};
  const json theirs = {{"per_device_train_batch_size", 8},
                       {"max_prompt_length", 512},
                       {"num_generations", 8},
                       {"max_completion_length", 256},
                       {"temperature", 0.9},
                       {"top_p", 1.0},
                       {"top_k", nullptr},
                       {"loss_type", "bnpo"},
                       {"beta", 0.04},
                       {"epsilon", 0.2},
                       {"epsilon_high", 0.28},
                       {"scale_rewards", false},
                       {"mask_truncated_completions", true},
                       {"importance_sampling_level", "sequence"},
                       {"num_iterations", 2}};
  EXPECT_EQ(rl::to_json(rl::parse_grpo_config(grpo_json(theirs), "t.json")),
            rl::to_json(rl::parse_grpo_config(grpo_json(ours), "o.json")));
  // TRL's epsilon_high, when not given, is epsilon; ours stays 0.2 unless TRL's name is used.
  EXPECT_EQ(rl::parse_grpo_config(grpo_json({{"epsilon", 0.1}}), "t.json").epsilon_high, 0.1);
  EXPECT_EQ(rl::parse_grpo_config(grpo_json({{"loss", {{"epsilon", 0.1}}}}), "t.json").epsilon_high, 0.1);
  EXPECT_EQ(rl::parse_grpo_config(grpo_json({{"loss", {{"epsilon_low", 0.1}}}}), "t.json").epsilon_high, 0.2);
}

TEST(ConfigNames, ValuesWithoutACounterpartAndBothNamesAreErrors) {
  const auto sft_error = [](const json& patch, std::initializer_list<const char*> parts) {
    expect_error([&] { parse_sft_config(sft_json(patch), "cfg.json"); }, parts);
  };
  sft_error({{"num_train_epochs", 2.5}}, {"cfg.json: 'num_train_epochs' ('epochs') must be a whole number"});
  sft_error({{"learning_rate", 1e-3}, {"optimizer", {{"lr", 1e-3}}}},
            {"cfg.json: 'optimizer.lr' and 'learning_rate' (HF's name for 'optimizer.lr') are both given"});
  sft_error({{"lr_scheduler_type", "polynomial"}}, {"'lr_scheduler_type' ('schedule.name') must be one of linear"});
  sft_error({{"optim", "sgd"}}, {"'optim' ('optimizer.name') must be one of adamw_torch"});
  sft_error({{"truncation_mode", "keep_end"}}, {"keep_end is not supported"});
  sft_error({{"adam_beta1", 0.9}}, {"'adam_beta1' ('optimizer.beta1') sets AdamW's beta1"});
  sft_error({{"learning_rate", "1e-3"}}, {"'learning_rate' ('optimizer.lr') must be a number or null, got string"});
}

// HF's warmup_ratio: with no warmup_steps the warmup is ceil(ratio x the run's steps) (TrainingArguments.
// get_warmup_steps); ceil(0.1 x 25) = ceil(2.5) = 3, ceil(0.25 x 8) = 2, ceil(0.1 x 30) = 3.
TEST(ConfigNames, WarmupRatioIsHfsShareOfTheRunsSteps) {
  const SftConfig c = parse_sft_config(sft_json({{"warmup_ratio", 0.1}, {"lr_scheduler_type", "linear"}}), "c.json");
  EXPECT_EQ(c.warmup_ratio, 0.1);
  EXPECT_EQ(c.warmup_for(25), 3);
  EXPECT_EQ(c.warmup_for(30), 3);
  EXPECT_EQ(c.warmup_for(0), 0);
  EXPECT_EQ(parse_sft_config(sft_json({{"schedule", {{"warmup_ratio", 0.25}}}}), "c.json").warmup_for(8), 2);
  EXPECT_EQ(parse_sft_config(sft_json({{"warmup_steps", 4}}), "c.json").warmup_for(100), 4);
  EXPECT_EQ(to_json(c)["schedule"]["warmup_ratio"], 0.1);
  EXPECT_FALSE(to_json(parse_sft_config(minimal_sft(), "c.json"))["schedule"].contains("warmup_ratio"));
  expect_error([] { parse_sft_config(sft_json({{"warmup_ratio", 0.1}, {"warmup_steps", 3}}), "c.json"); },
               {"c.json", "give one of 'warmup_steps' and 'warmup_ratio', not both"});
  expect_error([] { parse_sft_config(sft_json({{"warmup_ratio", 1.5}}), "c.json"); },
               {"c.json", "warmup_ratio", "must be in [0, 1]"});
}

// Settings added after runs were made enter a run's identity only when set otherwise than by default, so those runs
// still resume; the saved config (to_json) lists them all.
TEST(ConfigNames, NewSettingsLeaveTheIdentityOfDefaultRunsAlone) {
  const json sft = training_identity(parse_sft_config(minimal_sft(), "c.json"));
  EXPECT_EQ(sft["data"], json({{"max_length", 1024}, {"truncation", "prompt_left"}}));
  EXPECT_FALSE(sft.contains("packing"));
  EXPECT_FALSE(sft["schedule"].contains("warmup_ratio"));
  EXPECT_EQ(to_json(parse_sft_config(minimal_sft(), "c.json"))["data"]["assistant_only_loss"], false);
  EXPECT_EQ(training_identity(parse_sft_config(sft_json({{"assistant_only_loss", true}}), "c.json"))["data"]
                ["assistant_only_loss"],
            true);
  const rl::GrpoConfig g = rl::parse_grpo_config(grpo_json(json::object()), "g.json");
  const json gi = rl::training_identity(g);
  EXPECT_EQ(gi["data"], json({{"max_prompt_length", 1024}}));
  EXPECT_FALSE(gi["generation"].contains("dynamic_sampling"));
  EXPECT_FALSE(gi["loss"].contains("importance_sampling_level"));
  const json gj = rl::to_json(g);
  EXPECT_EQ(gj["generation"]["dynamic_sampling"], false);
  EXPECT_EQ(gj["loss"]["importance_sampling_level"], "token");
  EXPECT_TRUE(gj["data"].contains("chat_template_kwargs"));
}

TEST(ConfigNames, EveryUnknownKeyIsReportedAtOnceWithTheNearestName) {
  const std::string msg = thrown_message<Error>([] {
    parse_sft_config(sft_json({{"learning_rte", 1e-3},
                               {"epoch", 2},
                               {"optimizer", {{"betas", 1}}},
                               {"num_generations", 4},
                               {"logging_steps", 10},
                               {"zzzz", 1}}),
                     "configs/x.json");
  });
  for (const char* part : {"configs/x.json: unknown key 'learning_rte' (did you mean 'learning_rate'?)",
                           "configs/x.json: unknown key 'epoch' (did you mean 'epochs'?)",
                           "configs/x.json: unknown key 'optimizer.betas' (did you mean 'optimizer.beta1'?)",
                           "unknown key 'num_generations' (TRL's name for 'generation.num_generations', which does "
                           "not apply to this config)",
                           "unknown key 'logging_steps' (HF's setting, not supported here: every step is logged",
                           "configs/x.json: unknown key 'zzzz'"})
    EXPECT_NE(msg.find(part), std::string::npos) << part << "\n" << msg;
  // An error about a value names the unknown keys found before it too.
  const std::string both = thrown_message<Error>(
      [] { parse_sft_config(sft_json({{"optimizer", {{"lrr", 1}}}, {"schedule", {{"name", "x"}}}}), "c.json"); });
  EXPECT_NE(both.find("'schedule.name' must be one of"), std::string::npos) << both;
  EXPECT_NE(both.find("unknown key 'optimizer.lrr' (did you mean 'optimizer.lr'?)"), std::string::npos) << both;
}

TEST(ConfigNames, TheDocsTableListsEveryNameOfTheCodesTable) {
  const std::string doc = read_text_file(fs::path(GT_CONFIGS) / ".." / "docs" / "config.md");
  for (const KeyName& k : key_names()) {
    EXPECT_NE(doc.find(std::string("`") + k.hf + "`"), std::string::npos) << k.hf;
    if (k.ours) EXPECT_NE(doc.find(std::string("`") + k.ours + "`"), std::string::npos) << k.ours;
  }
}

TEST(ConfigNames, TheSettingsPrintoutSaysWhereOurDefaultsDifferFromTrls) {
  std::ostringstream os;
  print_settings(os, to_json(parse_sft_config(minimal_sft(), "c.json")), TrainerKind::Sft);
  const std::string s = os.str();
  EXPECT_NE(s.find("  grad_clip = 0.0   [max_grad_norm: HF default 1.0; 0 turns clipping off"), std::string::npos) << s;
  EXPECT_NE(s.find("  optimizer.lr = 2e-05\n"), std::string::npos) << s;  // the same as SFTConfig's
  EXPECT_NE(s.find("  seed = 42\n"), std::string::npos) << s;
}

// The run itself: a config with HF names and the same config with ours train to the same bytes.
TEST(ConfigNames, TheSameRunUnderEitherNamesGivesTheSameWeightsByteForByte) {
  SftFixture f;
  const json ours = {{"epochs", 1}, {"grad_clip", 0.5}, {"schedule", {{"name", "linear"}, {"warmup_steps", 2}}},
                     {"optimizer", {{"name", "adamw"}, {"lr", 1e-2}, {"weight_decay", 0.0}}}};
  json theirs = f.config_json(json::object(), "b");
  theirs.erase("epochs");
  theirs.erase("optimizer");
  theirs.erase("out_dir");
  theirs.update({{"num_train_epochs", 1.0}, {"max_grad_norm", 0.5}, {"lr_scheduler_type", "linear"},
                 {"warmup_steps", 2}, {"optim", "adamw_torch"}, {"learning_rate", 1e-2}, {"weight_decay", 0.0},
                 {"output_dir", f.out("b")}});
  const std::string a_cfg = f.config_file(ours, "a", "a.json");
  const std::string b_cfg = f.dir.write("b.json", theirs.dump(2)).string();
  for (const std::string& cfg : {a_cfg, b_cfg}) {
    const CommandResult r = run_gemma_tune("sft --config " + cfg);
    ASSERT_EQ(r.rc, 0) << r.output;
  }
  const std::string wa = read_text_file(f.out("a") + "/final/model.safetensors");
  const std::string wb = read_text_file(f.out("b") + "/final/model.safetensors");
  EXPECT_FALSE(wa.empty());
  EXPECT_TRUE(wa == wb);
  // What each run saved is the same settings, in our names.
  json saved_a = read_json_file(f.out("a") + "/run_config.json");
  json saved_b = read_json_file(f.out("b") + "/run_config.json");
  saved_a.erase("out_dir");
  saved_b.erase("out_dir");
  EXPECT_EQ(saved_a, saved_b);
}

TEST(ConfigOverrides, SetKeysUnderEitherNameReplacingTheOther) {
  json j = sft_json({{"optimizer", {{"name", "adamw"}, {"lr", 1e-3}}}, {"epochs", 2}});
  apply_overrides(j, {parse_set("schedule.name=cosine"), parse_set("optimizer.beta2=0.99")});
  apply_overrides(j, parse_flag_overrides({"--learning_rate", "1e-5", "--num_train_epochs=1", "--packing",
                                           "--checkpoint_layers", "false"}));
  EXPECT_FALSE(j["optimizer"].contains("lr"));  // replaced by learning_rate
  EXPECT_EQ(j["learning_rate"], 1e-5);
  EXPECT_EQ(j["num_train_epochs"], 1);
  EXPECT_FALSE(j.contains("epochs"));
  EXPECT_EQ(j["schedule"]["name"], "cosine");  // not JSON: a string
  EXPECT_EQ(j["optimizer"]["beta2"], 0.99);
  EXPECT_EQ(j["packing"], true);
  EXPECT_EQ(j["checkpoint_layers"], false);
  const SftConfig c = parse_sft_config(
      [&] {
        json k = j;
        k["packing"] = false;
        return k;
      }(),
      "c.json");
  EXPECT_EQ(c.adamw.lr, 1e-5);
  EXPECT_EQ(c.epochs, 1);
  // And back: our name replaces theirs.
  apply_overrides(j, {parse_set("optimizer.lr=0.5")});
  EXPECT_FALSE(j.contains("learning_rate"));
  EXPECT_EQ(j["optimizer"]["lr"], 0.5);
  expect_error([] { parse_set("novalue"); }, {"--set novalue: expected key=value"});
  expect_error([] { parse_flag_overrides({"stray"}); }, {"unexpected argument 'stray'"});
  json scalar = {{"seed", 1}};
  expect_error([&] { apply_overrides(scalar, {parse_set("seed.x=1")}); },
               {"--set seed.x=1: 'seed.x' goes inside a value that is not an object"});
}

TEST(ConfigNames, AYamlConfigReadsAsTheSameJsonConfig) {
  TempDir dir;
  const std::string yaml = dir.write("sft.yaml", R"(model: {dir: m}
tokenizer: t.json
data:
  train: d.jsonl
output_dir: o
learning_rate: 1e-3
num_train_epochs: 2.0
optim: adamw_torch
weight_decay: 0.0
lr_scheduler_type: cosine
warmup_steps: 1
max_grad_norm: 1.0
)").string();
  const json ours = sft_json({{"epochs", 2},
                              {"grad_clip", 1.0},
                              {"optimizer", {{"name", "adamw"}, {"lr", 1e-3}, {"weight_decay", 0.0}}},
                              {"schedule", {{"name", "cosine"}, {"warmup_steps", 1}}}});
  EXPECT_EQ(to_json(load_sft_config(yaml)), to_json(parse_sft_config(ours, "o.json")));
  const std::string bad =
      dir.write("bad.yaml", "model: {dir: m}\ntokenizer: t\ndata: {train: d}\nout_dir: o\nlearning_rte: 1\n").string();
  expect_error([&] { load_sft_config(bad); },
               {"bad.yaml: unknown key 'learning_rte' (did you mean 'learning_rate'?)"});
}
