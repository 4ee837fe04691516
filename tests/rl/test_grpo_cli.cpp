// `gemma-tune grpo`: a run in slices through the binary, its progress line, and config errors naming the file.
#include <gtest/gtest.h>

#include <filesystem>

#include "grpo_fixture.h"

using namespace gt::testing;

TEST(GrpoCli, RunsInSlicesWithAProgressLineAndEndsWithTheExportedFolder) {
  GrpoFixture f;
  const std::string cfg = f.config_file({{"max_steps", 2}, {"reward", {{"command", kSpecialTokenReward}}}});
  const CommandResult first = run_gemma_tune("grpo --config " + cfg + " --stop-after 1");
  ASSERT_EQ(first.rc, 0) << first.output;
  for (const char* part : {"grpo: step 1/2", "reward", "rollout", "tok/s", "ETA", "held-out Mean", "stopped after step 1"})
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
