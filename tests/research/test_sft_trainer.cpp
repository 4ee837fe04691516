// The SFT adapter on a tiny random Gemma 4 with the byte tokenizer: parameters land in the run's config, a trial
// trains from the same start for its budget (steps or a time limit), the score is the held-out eval's Mean, data
// parameters re-synthesize the training set, and names the SFT config does not know fail before any training.
#include <gtest/gtest.h>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "data/plan_sample.h"
#include "data/synth_catalog.h"
#include "research/config.h"
#include "research/ratchet.h"
#include "research/sft_trainer.h"
#include "support/error_message.h"
#include "train/sft_fixture.h"

namespace fs = std::filesystem;
using namespace gt::research;
using nlohmann::json;

namespace {

struct TrialSetup {
  gt::testing::SftFixture f;
  TrialSettings settings(bool synth = false) const {
    TrialSettings s;
    // Synthesized samples are long in bytes (the byte tokenizer's tokens): their targets need the room.
    s.base = f.config_json({{"data", {{"max_length", synth ? 1024 : 384}}}});
    s.base.erase("out_dir");
    if (synth) {
      s.base["data"].erase("train");
      s.synth = SynthSettings{6, 3, {}};
    }
    s.source = "research.json: 'sft'";
    s.eval = {f.heldout, 0, 4, ""};
    return s;
  }
  fs::path trial(const std::string& name) const {
    const fs::path d = f.dir.path / name;
    fs::create_directories(d);
    return d;
  }
};

}  // namespace

TEST(SftTrainer, ATrialTrainsForItsStepsAndScoresOnTheHeldOutSet) {
  TrialSetup s;
  SftTrainer t(s.settings());
  const json params = {{"optimizer.lr", 5e-3}, {"schedule.name", "cosine"}, {"schedule.warmup_steps", 1}};
  const fs::path dir = s.trial("trial-0001");
  const TrialResult r = t.run(params, dir, Budget{2, 0}, nullptr);
  const json used = gt::read_json_file(dir / "sft" / "run_config.json");
  EXPECT_EQ(used["optimizer"]["lr"], 5e-3);
  EXPECT_EQ(used["schedule"], json({{"name", "cosine"}, {"warmup_steps", 1}}));
  EXPECT_EQ(used["max_steps"], 2);
  EXPECT_EQ(r.details["steps"], 2);
  EXPECT_FALSE(fs::exists(dir / "sft" / "checkpoints")) << "checkpoints are only for resuming, which trials do not";
  EXPECT_EQ(r.weights, dir / "sft" / "final");
  EXPECT_TRUE(fs::exists(r.weights / "model.safetensors"));
  const json report = gt::read_json_file(dir / "eval" / "report.json");
  EXPECT_EQ(report["overall"]["n"], 2);
  EXPECT_EQ(report["overall"]["mean"].get<double>(), r.score);
  EXPECT_EQ(r.details["eval"], report["overall"]);
  EXPECT_GE(r.score, 0.0);
  EXPECT_LE(r.score, 1.0);

  // The same configuration from the same start gives the same trial, to the bit.
  const fs::path again = s.trial("again");
  const TrialResult r2 = t.run(params, again, Budget{2, 0}, nullptr);
  EXPECT_EQ(gt::read_text_file(again / "sft" / "final" / "model.safetensors"),
            gt::read_text_file(dir / "sft" / "final" / "model.safetensors"));
  EXPECT_EQ(r2.score, r.score);
  EXPECT_EQ(r2.details["train_loss"], r.details["train_loss"]);
}

TEST(SftTrainer, AMinutesBudgetStopsTheRunAndScoresWhereItStopped) {
  TrialSetup s;
  SftTrainer t(s.settings());
  const fs::path dir = s.trial("trial-0000");
  const TrialResult r = t.run(json::object(), dir, Budget{0, 1e-9}, nullptr);
  EXPECT_EQ(r.details["steps"], 1);
  EXPECT_TRUE(fs::exists(dir / "sft" / "final" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "eval" / "report.json"));
}

TEST(SftTrainer, DataParametersResynthesizeTheTrainingSet) {
  TrialSetup s;
  SftTrainer t(s.settings(/*synth=*/true));
  const fs::path dir = s.trial("trial-0002");
  const TrialResult r =
      t.run({{"data.num_plugins", 5}, {"data.candidate_params", "typed"}}, dir, Budget{1, 0}, nullptr);
  const auto samples = gt::data::read_samples(dir / "data" / "train.jsonl");
  EXPECT_EQ(r.details["train_samples"], samples.size());
  EXPECT_EQ(r.details["train_samples"].get<int64_t>() + r.details["dropped_heldout_requests"].get<int64_t>(), 6);
  for (const auto& x : samples) {
    EXPECT_EQ(x.candidates.size(), 5u) << x.id;
    for (const auto& c : x.candidates) EXPECT_TRUE(c.parameters.has_value()) << "typed parameters are shown";
  }
  EXPECT_EQ(gt::read_json_file(dir / "sft" / "run_config.json")["data"]["train"],
            (dir / "data" / "train.jsonl").string());
}

TEST(SftTrainer, CheckRefusesNamesAndValuesTheSftConfigRefuses) {
  TrialSetup s;
  SftTrainer t(s.settings());
  t.check({{"optimizer.lr", 1e-3}, {"grad_clip", 1.0}, {"optimizer.beta1", nullptr}});
  auto refused = [&](const json& params) { return gt::testing::thrown_message<gt::Error>([&] { t.check(params); }); };
  EXPECT_EQ(refused({{"optimizer.lrr", 1e-3}}), "research.json: 'sft': unknown key 'optimizer.lrr' (did you mean 'optimizer.lr'?)");
  EXPECT_EQ(refused({{"schedule.name", "step"}}),
            "research.json: 'sft': 'schedule.name' must be one of none, linear, cosine, got \"step\"");
  EXPECT_EQ(refused({{"grad_clip", -1}}), "research.json: 'sft': 'grad_clip' must be >= 0 (0 turns clipping off)");
  EXPECT_EQ(refused({{"data.num_plugins", 6}}),
            "'data.num_plugins' re-synthesizes the training data, which needs the search's 'synth' settings");
  EXPECT_EQ(refused({{"optimizer.lr.x", 1}}), "'optimizer.lr' is not an object, so 'optimizer.lr.x' cannot be set");

  SftTrainer with_synth(s.settings(true));
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] {
              with_synth.check({{"data.num_plugins", 3}});
            }),
            "'data.num_plugins' must be an integer from 4 (the longest plan) to " +
                std::to_string(gt::data::synth::catalog().size()) + " (the catalog), got 3");

  TrialSettings bad = s.settings();
  bad.base["out_dir"] = "x";
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] { SftTrainer{bad}; }),
            "research.json: 'sft': leave out 'out_dir'; every trial runs in its own folder");
}

TEST(SftTrainer, TheCommittedSearchConfigReadsAndEveryParameterIsAnSftSetting) {
  const ResearchConfig c = load_research_config(GT_CONFIGS "/research.json");
  EXPECT_EQ(c.trainer, "sft");
  EXPECT_GE(c.iterations, 6);
  ASSERT_TRUE(c.synth);
  ASSERT_NE(c.space.find("data.num_plugins"), nullptr);
  // Its data files come from the demo; the fixture's held-out file stands in so the trainer can be built.
  TrialSettings s{c.trainer_config, c.path + ": 'sft'", c.synth, c.eval, nullptr};
  s.eval.data = GT_FIXTURES "/eval/data.jsonl";
  const SftTrainer t(s);
  check_space(c.space, t, c.path);
}
