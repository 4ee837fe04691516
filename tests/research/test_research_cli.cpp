// `gemma-tune research` end to end on a tiny random model: progress lines, the files, resume with more iterations,
// an external proposer that prints nonsense, and the errors a bad config or changed settings get.
#include <gtest/gtest.h>

#include <fstream>

#include "base/files.h"
#include "research/history.h"
#include "train/sft_fixture.h"

namespace fs = std::filesystem;
using gt::testing::run_gemma_tune;
using nlohmann::json;

namespace {

struct Cli {
  gt::testing::SftFixture f;
  fs::path out = f.dir.path / "search";

  json config() const {
    json sft = f.config_json({{"data", {{"max_length", 256}}}});
    sft.erase("out_dir");
    return {{"out_dir", out.string()},
            {"iterations", 2},
            {"seed", 4},
            {"trainer", "sft"},
            {"sft", sft},
            {"budget", {{"max_steps", 1}}},
            {"eval", {{"data", f.heldout}, {"max_new_tokens", 3}}},
            {"space", json::parse(R"({
               "optimizer.lr": {"type": "float", "min": 1e-3, "max": 1e-1, "scale": "log", "initial": 1e-2},
               "schedule.name": {"choices": ["none", "cosine"], "initial": "none"}})")}};
  }
  std::string write(const json& j, const std::string& name = "research.json") const {
    return f.dir.write(name, j.dump(2)).string();
  }
  std::vector<gt::research::TrialRecord> history() const { return gt::research::read_history(out / "history.jsonl"); }
};

}  // namespace

TEST(ResearchCli, RunsResumesAndRecordsProposerErrors) {
  Cli c;
  const std::string cfg = c.write(c.config());
  auto r = run_gemma_tune("research --config " + cfg);
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("research: [1/2] trial-0000 [initial] initial configuration: score "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("research: [2/2] trial-0001 [mutator] "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", best "), std::string::npos);
  EXPECT_NE(r.output.find("KEPT | "), std::string::npos);
  EXPECT_NE(r.output.find("ETA "), std::string::npos);
  EXPECT_NE(r.output.find("research: held-out eval: 2 samples"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("best: trial "), std::string::npos);
  for (const char* file : {"history.jsonl", "best.json", "report.md", "score.svg", "search.json",
                           "trial-0000/params.json", "trial-0000/eval/report.md", "trial-0001/sft/run_config.json"})
    EXPECT_TRUE(fs::exists(c.out / file)) << file;
  ASSERT_EQ(c.history().size(), 2u);

  // More iterations continue the numbering.
  r = run_gemma_tune("research --config " + cfg + " --iterations 3");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("research: resuming after trial 1 of 3"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("trial-0000 [initial]"), std::string::npos) << "nothing recorded runs again";
  ASSERT_EQ(c.history().size(), 3u);

  // A proposer that prints nonsense costs a rejected trial, not the search.
  r = run_gemma_tune("research --config " + cfg + " --iterations 4 --proposer-command 'echo nope'");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto h = c.history();
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[3].proposer, "command");
  EXPECT_FALSE(h[3].accepted);
  EXPECT_NE(h[3].failure.find("proposer command 'echo nope': printed 'nope', which is not one JSON object"),
            std::string::npos)
      << h[3].failure;
  const std::string md = gt::read_text_file(c.out / "report.md");
  EXPECT_NE(md.find("| 3 | command |  | – | "), std::string::npos) << md;

  // Other settings on the same out_dir are refused: their scores would not compare.
  json changed = c.config();
  changed["budget"]["max_steps"] = 2;
  r = run_gemma_tune("research --config " + c.write(changed, "changed.json") + " --iterations 5");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("search.json: this search was started with other settings (budget/max_steps)"),
            std::string::npos)
      << r.output;
}

TEST(ResearchCli, ConfigErrorsNameTheFileAndTheKey) {
  Cli c;
  json j = c.config();
  j["space"]["optimizer.lrr"] = {{"type", "float"}, {"min", 1e-3}, {"max", 1e-1}, {"initial", 1e-2}};
  auto r = run_gemma_tune("research --config " + c.write(j, "typo.json"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("typo.json: the sft trainer refuses the space's initial configuration: "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("typo.json: 'sft': unknown key 'optimizer.lrr'"), std::string::npos) << r.output;

  j = c.config();
  j["budget"] = {{"max_step", 3}};
  r = run_gemma_tune("research --config " + c.write(j, "budget.json"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("budget.json: unknown key 'budget.max_step'"), std::string::npos) << r.output;

  j = c.config();
  j["budget"] = json::object();
  r = run_gemma_tune("research --config " + c.write(j, "nobudget.json"));
  EXPECT_NE(r.output.find("nobudget.json: 'budget' needs max_steps or minutes above 0"), std::string::npos) << r.output;

  j = c.config();
  j["space"]["schedule.name"]["initial"] = "step";
  r = run_gemma_tune("research --config " + c.write(j, "choice.json"));
  EXPECT_NE(r.output.find("choice.json: 'space.schedule.name.initial' must be one of \"none\", \"cosine\", got "
                          "\"step\""),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(c.out)) << "nothing starts before the config is valid";
}
