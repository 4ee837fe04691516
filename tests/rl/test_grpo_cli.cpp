// `gemma-tune grpo`: a run in slices through the binary, its progress line, SIGKILL at arbitrary moments followed
// by --resume (which must end where an unbroken run ends, bit for bit), and config errors naming the file.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "grpo_fixture.h"
#include "support/spawn.h"
#include "train/checkpoint.h"

using namespace gt;
using namespace gt::testing;
namespace fs = std::filesystem;

TEST(GrpoCli, RunsInSlicesWithAProgressLineAndEndsWithTheExportedFolder) {
  GrpoFixture f;
  const std::string cfg = f.config_file({{"max_steps", 2}, {"reward", {{"command", kSpecialTokenReward}}}});
  const CommandResult first = run_gemma_tune("grpo --config " + cfg + " --stop-after 1");
  ASSERT_EQ(first.rc, 0) << first.output;
  for (const char* part :
       {"grpo: step 1/2", "reward", "rollout", "tok/s", "ETA", "held-out Mean", "stopped after step 1"})
    EXPECT_NE(first.output.find(part), std::string::npos) << part << "\n" << first.output;
  const CommandResult again = run_gemma_tune("grpo --config " + cfg);
  EXPECT_NE(again.rc, 0);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;
  const CommandResult rest = run_gemma_tune("grpo --config " + cfg + " --resume");
  ASSERT_EQ(rest.rc, 0) << rest.output;
  EXPECT_NE(rest.output.find("resumed from"), std::string::npos) << rest.output;
  EXPECT_NE(rest.output.find((f.sft.dir.path / "out" / "final").string()), std::string::npos) << rest.output;
  EXPECT_TRUE(std::filesystem::exists(f.sft.dir.path / "out" / "best" / "model.safetensors"));
}

TEST(GrpoCli, ConfigErrorsNameTheFileAndTheKey) {
  GrpoFixture f;
  const std::string cfg = f.config_file({{"loss", {{"kind", "dapo"}}}});
  const CommandResult r = run_gemma_tune("grpo --config " + cfg);
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find(cfg + ": unknown key 'loss.kind'"), std::string::npos) << r.output;
}

TEST(GrpoCli, KilledAtArbitraryMomentsAndResumedEqualsAnUnbrokenRun) {
  GrpoFixture f;
  // Batches reused twice, so some kills land between a batch's two steps, where the batch itself is state.
  const json settings = {{"max_steps", 8},
                         {"num_iterations", 2},
                         {"reward", {{"command", kSpecialTokenReward}}},
                         {"checkpoint", {{"every", 1}, {"keep_last", 2}}},
                         {"eval", {{"every", 3}}}};
  // The unbroken run on one thread, the broken ones on all cores: the weight-gradient GEMMs reduce over the 4 x 170
  // tokens of a micro-batch, long enough that OpenBLAS alone would change last bits with the thread count.
  const CommandResult unbroken =
      run_command(std::string("GT_NUM_THREADS=1 ") + GT_BINARY + " grpo --config " + f.config_file(settings, "a"));
  ASSERT_EQ(unbroken.rc, 0) << unbroken.output;

  const std::string cfg = f.config_file(settings, "b");
  const std::string out = (f.sft.dir.path / "b").string(), log = (f.sft.dir.path / "b.log").string();
  const train::CheckpointDir ck(out + "/checkpoints", 2);
  // Each life runs until one more checkpoint is complete, then is killed a little later: mid-step, mid-rollout,
  // mid-eval or mid-write, whatever the machine's speed.
  int kills = 0;
  for (int delay_ms : {0, 60, 120, 180}) {
    std::vector<std::string> args{"grpo", "--config", cfg};
    if (ck.latest()) args.push_back("--resume");
    if (!kill_after_next_checkpoint(args, log, ck, delay_ms)) break;  // it ran to the end
    ++kills;
    if (const auto latest = ck.latest()) {
      EXPECT_NO_THROW(train::read_training_state(*latest)) << *latest;
    }
  }
  EXPECT_GE(kills, 1);
  const CommandResult rest = run_gemma_tune("grpo --config " + cfg + (ck.latest() ? " --resume" : ""));
  ASSERT_EQ(rest.rc, 0) << rest.output;

  const std::string a_log = (f.sft.dir.path / "a" / "metrics.jsonl").string(), b_log = out + "/metrics.jsonl";
  EXPECT_GE(read_records(b_log, "resume").size(), 1u);
  auto without_clock = [](json r) {  // and without the out dir's name
    for (const char* k :
         {"update_tokens_per_s", "rollout_tokens_per_s", "tokens_per_s", "eval_tokens_per_s", "elapsed_s", "path"})
      r.erase(k);
    return r;
  };
  for (const char* type : {"train", "samples", "eval", "best"}) {
    const auto a = read_records(a_log, type), b = read_records(b_log, type);
    ASSERT_EQ(a.size(), b.size()) << type;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(without_clock(a[i]), without_clock(b[i])) << type << " " << i;
  }
  ASSERT_EQ(read_records(a_log, "train").size(), 8u);
  const auto weights = [](const std::string& dir) {
    std::vector<float> v;
    for (const auto& [n, t] : train::read_training_state(*train::CheckpointDir(dir, 2).latest()).model) {
      const auto x = t.to_floats();
      v.insert(v.end(), x.begin(), x.end());
    }
    return v;
  };
  EXPECT_EQ(weights((f.sft.dir.path / "a" / "checkpoints").string()), weights(out + "/checkpoints"));
}
