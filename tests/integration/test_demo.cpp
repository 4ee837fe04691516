// `gemma-tune demo` end to end on a few samples and steps: every stage's files, the report, continuing in the same
// out dir, the GRPO stage, and config errors. (The default run's figures are in the README, not a test: it takes
// the 15 minutes the issue allows.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "data/tokenizer.h"
#include "support/files.h"

namespace {

using gt::testing::run_gemma_tune;
using gt::testing::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

json small_config(const fs::path& out) {
  return {{"out_dir", out.string()},
          {"data", {{"train", 24}, {"heldout", 5}, {"dev", 4}, {"seed", 3}}},
          {"sft",
           {{"max_steps", 6},
            {"optimizer", {{"name", "adamw"}, {"lr", 3e-3}}},
            {"eval", {{"every", 0}, {"max_samples", 5}}},
            {"checkpoint", {{"every", 3}, {"keep_last", 2}}}}},
          {"grpo",
           {{"max_steps", 2},
            {"batch_size", 4},
            {"generation", {{"num_generations", 2}, {"max_completion_length", 8}}},
            {"optimizer", {{"name", "adafactor"}, {"lr", 5e-4}}},
            {"eval", {{"every", 1}, {"max_samples", 3}, {"max_new_tokens", 8}}}}},
          {"eval", {{"max_new_tokens", 8}}}};
}

std::string write(const fs::path& path, const json& j) {
  std::ofstream(path) << j.dump(2);
  return path.string();
}

TEST(Demo, RunsEveryStageWritesItsReportAndContinuesInTheSameOutDir) {
  TempDir dir;
  const fs::path out = dir.path / "demo";
  const std::string cfg = write(dir.path / "demo.json", small_config(out));
  const auto first = run_gemma_tune("demo --config " + cfg);
  ASSERT_EQ(first.rc, 0) << first.output;
  for (const char* f : {"data/train.jsonl", "data/heldout.clean.jsonl", "data/dev.clean.jsonl", "data/train.clean_report.json",
                        "inputs/model_config.json", "inputs/tokenizer.json", "sft/final/model.safetensors",
                        "sft/metrics.jsonl", "eval-sft/report.json", "eval-sft/completions.jsonl", "report.md"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const std::string report = gt::read_text_file(out / "report.md");
  for (const char* s : {"| data |", "| clean |", "train kept 24 of 24; heldout kept 5 of 5; dev kept 4 of 4 |", "| sft | ",
                        "6 steps", "| eval |", "| Mean | JSON valid |"})
    EXPECT_NE(report.find(s), std::string::npos) << s << "\n" << report;
  EXPECT_NE(first.output.find("report: " + (out / "report.md").string()), std::string::npos) << first.output;
  // The embedded tiny model and tokenizer are what the run used.
  EXPECT_EQ(json::parse(gt::read_text_file(out / "inputs/model_config.json"))["hidden_size"], 128);

  // Again: the data is reused and the finished SFT is not redone; then the GRPO stage joins.
  const auto again = run_gemma_tune("demo --config " + cfg + " --grpo");
  ASSERT_EQ(again.rc, 0) << again.output;
  EXPECT_NE(again.output.find("reusing"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("resumed from"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("sft: step 1/"), std::string::npos) << again.output;
  EXPECT_TRUE(fs::exists(out / "grpo/best/model.safetensors"));
  // GRPO chose its best checkpoint on the dev set, not on the held-out set the final eval scores.
  EXPECT_NE(again.output.find("dev.clean.jsonl"), std::string::npos) << again.output;
  EXPECT_TRUE(fs::exists(out / "eval-grpo/report.json"));
  EXPECT_NE(again.output.find("SFT+GRPO"), std::string::npos) << again.output;
  const std::string with_grpo = gt::read_text_file(out / "report.md");
  EXPECT_NE(with_grpo.find("| grpo | "), std::string::npos);
  // The report shows each run's curves (docs/metrics.md), and the files it links exist.
  for (const char* link : {"sft/plots/loss.svg", "sft/plots/eval_loss.svg", "grpo/plots/reward.svg",
                           "grpo/plots/eval_mean.svg"}) {
    EXPECT_NE(with_grpo.find(std::string("](") + link + ")"), std::string::npos) << link << "\n" << with_grpo;
    EXPECT_TRUE(fs::exists(out / link)) << link;
  }
}

TEST(Demo, ConfigErrorsNameTheSourceAndTheKey) {
  TempDir dir;
  json j = small_config(dir.path / "demo");
  j["data"]["num_plugin"] = 6;
  auto r = run_gemma_tune("demo --config " + write(dir.path / "a.json", j));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("a.json: unknown key 'data.num_plugin'"), std::string::npos) << r.output;
  j = small_config(dir.path / "demo");
  j["sft"]["out_dir"] = "x";
  r = run_gemma_tune("demo --config " + write(dir.path / "b.json", j));
  EXPECT_NE(r.output.find("b.json: 'sft.out_dir' is set by the demo"), std::string::npos) << r.output;
  j = small_config(dir.path / "demo");
  j["sft"]["optimizer"]["lr"] = "high";
  r = run_gemma_tune("demo --config " + write(dir.path / "c.json", j));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("c.json (sft)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("optimizer.lr"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path / "demo" / "sft"));
}

TEST(Demo, PrintsTheEmbeddedDefaultWhichIsConfigsDemoJson) {
  const auto r = run_gemma_tune("demo --print-config");
  ASSERT_EQ(r.rc, 0);
  EXPECT_EQ(json::parse(r.output), json::parse(gt::read_text_file(GT_CONFIGS "/demo.json")));
}

}  // namespace
