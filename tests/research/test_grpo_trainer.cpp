// The GRPO adapter on the tiny random model of the GRPO tests: parameters land in the run's config, a trial runs
// its steps (or stops at its time limit and exports there), its score is the search's held-out eval, and names
// the GRPO config does not know fail before any training.
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/json_file.h"
#include "research/grpo_trainer.h"
#include "rl/grpo_fixture.h"
#include "support/error_message.h"

namespace fs = std::filesystem;
using namespace gt::research;
using nlohmann::json;

namespace {

TrialSettings settings(const gt::testing::GrpoFixture& f) {
  json base = f.config_json();
  base.erase("out_dir");
  base.erase("max_steps");
  return {base, "research.json: 'grpo'", std::nullopt, {f.sft.heldout, 0, 4, ""}, nullptr};
}

}  // namespace

TEST(GrpoTrainer, ATrialRunsItsStepsAndScoresOnTheSearchsHeldOutSet) {
  gt::testing::GrpoFixture f;
  GrpoTrainer t(settings(f));
  const fs::path dir = f.sft.dir.path / "trial-0001";
  fs::create_directories(dir);
  const TrialResult r = t.run({{"optimizer.lr", 5e-3}, {"generation.temperature", 0.7}}, dir, Budget{2, 0}, nullptr);
  const json used = gt::read_json_file(dir / "grpo" / "run_config.json");
  EXPECT_EQ(used["optimizer"]["lr"], 5e-3);
  EXPECT_EQ(used["generation"]["temperature"], 0.7);
  EXPECT_EQ(used["max_steps"], 2);
  EXPECT_EQ(r.details["steps"], 2);
  EXPECT_TRUE(r.details.contains("train_reward"));
  EXPECT_FALSE(fs::exists(dir / "grpo" / "checkpoints"));
  EXPECT_TRUE(fs::exists(r.weights / "model.safetensors"));
  const json report = gt::read_json_file(dir / "eval" / "report.json");
  EXPECT_EQ(report["overall"]["mean"].get<double>(), r.score);
  EXPECT_EQ(report["overall"]["n"], 2);
}

TEST(GrpoTrainer, AMinutesBudgetStopsAfterTheFirstStepAndExportsThere) {
  gt::testing::GrpoFixture f;
  GrpoTrainer t(settings(f));
  const fs::path dir = f.sft.dir.path / "trial-0000";
  fs::create_directories(dir);
  const TrialResult r = t.run(json::object(), dir, Budget{0, 1e-9}, nullptr);
  EXPECT_EQ(r.details["steps"], 1);
  EXPECT_TRUE(fs::exists(dir / "grpo" / "final" / "model.safetensors"));
}

TEST(GrpoTrainer, CheckRefusesNamesTheGrpoConfigDoesNotKnow) {
  gt::testing::GrpoFixture f;
  GrpoTrainer t(settings(f));
  t.check({{"loss.beta", 0.1}, {"generation.num_generations", 2}, {"loss.type", "grpo"}});
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] {
              t.check({{"generation.temprature", 0.7}});
            }),
            "research.json: 'grpo': unknown key 'generation.temprature' (did you mean 'generation.temperature'?)");
}
