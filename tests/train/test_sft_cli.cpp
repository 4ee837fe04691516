// `gemma-tune sft` as a process: a full run, SIGTERM (finish the step, checkpoint, exit 130), and SIGKILL at
// arbitrary moments followed by --resume, which must end exactly where an unbroken run ends (same losses, same
// weights, bit for bit).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "sft_fixture.h"
#include "support/spawn.h"
#include "train/checkpoint.h"

using namespace gt;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

json without_clock(json r) {
  r.erase("tokens_per_s");
  r.erase("elapsed_s");
  return r;
}

}  // namespace

TEST(SftCli, RunsToTheEndAndPrintsTheExportedFolder) {
  SftFixture f;
  const std::string cfg = f.config_file({{"epochs", 1}, {"eval", {{"every", 3}}}});
  const CommandResult r = run_gemma_tune("sft --config " + cfg);
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find(f.out() + "/final"), std::string::npos) << r.output;
  for (const char* part : {"train data", "6 of 6 samples kept", "step 6/6", "loss", "tok/s", "ETA", "held-out loss",
                           "checkpoint", "exported"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
  EXPECT_TRUE(fs::exists(f.out() + "/run_config.json"));
  EXPECT_TRUE(fs::exists(f.out() + "/final/model.safetensors"));

  const CommandResult again = run_gemma_tune("sft --config " + cfg);
  EXPECT_NE(again.rc, 0);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  const CommandResult bad = run_gemma_tune("sft --config " + f.dir.write("bad.json", "{\"epochs\": 1}").string());
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.output.find("bad.json: missing required key 'model'"), std::string::npos) << bad.output;
}

TEST(SftCli, SigtermFinishesTheStepAndCheckpoints) {
  SftFixture f;
  const std::string cfg = f.config_file({{"epochs", 200}});
  const pid_t pid = spawn_gemma_tune({"sft", "--config", cfg}, (f.dir.path / "log.txt").string());
  // Wait until training is under way.
  const std::string metrics = f.out() + "/metrics.jsonl";
  for (int i = 0; i < 600 && read_records(metrics, "train").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_for(pid), 130);
  const auto train = read_records(metrics, "train");
  const auto ckpt = read_records(metrics, "checkpoint");
  ASSERT_FALSE(ckpt.empty());
  EXPECT_EQ(ckpt.back()["step"], train.back()["step"]);
  EXPECT_LT(train.back()["step"].get<int64_t>(), 1200);
}

TEST(SftCli, KilledAtArbitraryMomentsAndResumedEqualsAnUnbrokenRun) {
  SftFixture f;
  const json settings = {{"epochs", 6}, {"checkpoint", {{"every", 1}, {"keep_last", 2}}}, {"eval", {{"every", 9}}}};
  // The unbroken run on one thread, the broken ones on all cores: the kernels reduce in a fixed order, so the
  // thread count changes no bit.
  const CommandResult unbroken = run_command(std::string("GT_NUM_THREADS=1 ") + GT_BINARY + " sft --config " +
                                             f.config_file(settings, "a", "a.json"));
  ASSERT_EQ(unbroken.rc, 0) << unbroken.output;

  const std::string cfg = f.config_file(settings, "b", "b.json");
  const std::string log = (f.dir.path / "b.log").string();
  const train::CheckpointDir ck(f.out("b") + "/checkpoints", 2);
  // Each life runs until one more checkpoint is complete and is killed 0-100 ms later (mid-step, mid-eval or
  // mid-write), so every life saves progress whatever the machine's load.
  int kills = 0;
  for (int delay_ms : {0, 10, 25, 45, 70, 100}) {
    std::vector<std::string> args{"sft", "--config", cfg};
    if (ck.latest()) args.push_back("--resume");
    if (!kill_after_next_checkpoint(args, log, ck, delay_ms)) break;  // it ran to the end
    ++kills;
    // Whatever the moment, the newest checkpoint is complete.
    const auto latest = ck.latest();
    ASSERT_TRUE(latest) << "no checkpoint within 60 s\n" << log;
    EXPECT_NO_THROW(train::read_training_state(*latest)) << *latest;
  }
  EXPECT_GE(kills, 1);
  const CommandResult rest = run_gemma_tune("sft --config " + cfg + (ck.latest() ? " --resume" : ""));
  ASSERT_EQ(rest.rc, 0) << rest.output << "\n" << log;

  const auto a = read_records(f.out("a") + "/metrics.jsonl", "train");
  const auto b = read_records(f.out("b") + "/metrics.jsonl", "train");
  ASSERT_EQ(a.size(), 36u);
  ASSERT_EQ(b.size(), a.size());
  EXPECT_GE(read_records(f.out("b") + "/metrics.jsonl", "resume").size(), 1u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(without_clock(a[i]), without_clock(b[i])) << "step " << i + 1;
  const auto ea = read_records(f.out("a") + "/metrics.jsonl", "eval");
  const auto eb = read_records(f.out("b") + "/metrics.jsonl", "eval");
  ASSERT_EQ(ea.size(), eb.size());
  for (size_t i = 0; i < ea.size(); ++i) EXPECT_EQ(ea[i]["eval_loss"], eb[i]["eval_loss"]);
  const auto weights = [](const std::string& dir) {
    const train::TrainingState s = train::read_training_state(*train::CheckpointDir(dir, 2).latest());
    std::vector<float> v;
    for (const auto& [n, t] : s.model) {
      const auto x = t.to_floats();
      v.insert(v.end(), x.begin(), x.end());
    }
    return v;
  };
  EXPECT_EQ(weights(f.out("a") + "/checkpoints"), weights(f.out("b") + "/checkpoints"));
}

// Overrides (--set, TRL-style flags) land in the saved run_config.json; --quiet prints the result only, --verbose a
// line every step and the settings with TRL's names.
TEST(SftCli, OverridesLandInTheSavedConfigAndLogLevelsChooseTheLines) {
  SftFixture f;
  const CommandResult quiet = run_gemma_tune(
      "sft --config " + f.config_file() + " --set optimizer.lr=0.02 --num_train_epochs 1 --set eval.every=2 --quiet");
  ASSERT_EQ(quiet.rc, 0) << quiet.output;
  const json saved = read_json_file(f.out() + "/run_config.json");
  EXPECT_EQ(saved["optimizer"]["lr"], 0.02);
  EXPECT_EQ(saved["epochs"], 1);
  EXPECT_EQ(saved["eval"]["every"], 2);
  EXPECT_EQ(quiet.output, f.out() + "/final\n");

  const CommandResult verbose =
      run_gemma_tune("sft --config " + f.config_file({{"progress_every_s", 100}}, "v") + " --verbose --epochs 1");
  ASSERT_EQ(verbose.rc, 0) << verbose.output;
  for (const char* part : {"sft: settings (", "  grad_clip = 0.0   [max_grad_norm: HF default 1.0", "step 1/6",
                           "step 2/6", "step 5/6"})
    EXPECT_NE(verbose.output.find(part), std::string::npos) << part << "\n" << verbose.output;
}
