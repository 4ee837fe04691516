// `gemma-tune reward` end to end: the printed object is the library's score, and a reward command replaces the
// reward while the metrics stay.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/files.h"
#include "data/plan_sample.h"
#include "rl/reward.h"
#include "support/files.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

class RewardCli : public ::testing::Test {
 protected:
  gt::testing::TempDir tmp;
  fs::path dir = tmp.path, sample_path = dir / "sample.json", completion_path = dir / "completion.txt";
  json sample;
  std::string completion;

  void SetUp() override {
    // The fixture's s3: two gold plugins; the completion names only the first.
    std::string lines = gt::read_text_file(fs::path(GT_FIXTURES) / "eval" / "data.jsonl");
    std::size_t at = 0;
    for (int i = 0; i < 2; ++i) at = lines.find('\n', at) + 1;
    sample = json::parse(lines.substr(at, lines.find('\n', at) - at));
    json first = sample["target"]["plan"]["plugins"][0];
    completion = "<think>Only nutrition.</think>" + json{{"plugins", {first}}}.dump();
    std::ofstream(sample_path) << sample.dump(2);
    std::ofstream(completion_path) << completion;
  }
  std::string files() const {
    return " --sample " + sample_path.string() + " --completion " + completion_path.string();
  }
};

}  // namespace

TEST_F(RewardCli, PrintsRewardTermsAndMetrics) {
  auto r = gt::testing::run_gemma_tune("reward" + files());
  ASSERT_EQ(r.rc, 0) << r.output;
  json out = json::parse(r.output);
  auto ref = gt::rl::Reference::of(gt::data::sample_from_json(sample, "s"));
  EXPECT_EQ(out, gt::rl::score_completion(completion, ref).to_json());
  const gt::rl::RewardWeights w;
  EXPECT_NEAR(out["reward"].get<double>(),
              w.valid_json + w.in_candidates + w.recall / 2 + w.no_wrong_picks + w.hydration / 2, 1e-6);
  EXPECT_EQ(out["metrics"]["plugin_id_match"], 0);
  EXPECT_EQ(out["metrics"]["hydrated"], 1);
}

TEST_F(RewardCli, WeightsFileChangesTheReward) {
  std::ofstream(dir / "w.json") << R"({"recall": 0.5})";
  auto r = gt::testing::run_gemma_tune("reward" + files() + " --weights " + (dir / "w.json").string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NEAR(json::parse(r.output)["terms"]["recall"].get<double>(), 0.25, 1e-9);
  std::ofstream(dir / "bad.json") << R"({"recal": 0.5})";
  r = gt::testing::run_gemma_tune("reward" + files() + " --weights " + (dir / "bad.json").string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("unknown reward weight 'recal'"), std::string::npos) << r.output;
}

TEST_F(RewardCli, RewardCommandReplacesTheReward) {
  auto r = gt::testing::run_gemma_tune("reward" + files() + " --reward-command 'grep -c plugin-nutrition'");
  ASSERT_EQ(r.rc, 0) << r.output;
  json out = json::parse(r.output);
  EXPECT_EQ(out["reward"], 1.0);
  EXPECT_EQ(out["terms"], json({{"external", 1.0}}));
  EXPECT_EQ(out["metrics"]["json_valid"], 1);

  r = gt::testing::run_gemma_tune("reward" + files() + " --reward-command 'sleep 10' --reward-timeout 0.2");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("error: reward command 'sleep 10': timed out after 0.2 s"), std::string::npos) << r.output;
}

TEST_F(RewardCli, SampleWithoutGoldPlanIsAnError) {
  sample.erase("target");
  std::ofstream(sample_path) << sample.dump();
  auto r = gt::testing::run_gemma_tune("reward" + files());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find(sample_path.string() + ": sample 's3' has no target"), std::string::npos) << r.output;
}
