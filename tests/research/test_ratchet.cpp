// The ratchet with a deterministic stand-in trainer whose score is a known function of the parameters: one
// parameter changes per proposal, only strict improvements are kept, failures are rejected trials, resume
// continues where it stopped (an interrupted trial is discarded and run again), proposer errors are handled.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <regex>

#include "base/error.h"
#include "base/files.h"
#include "research/history.h"
#include "research/ratchet.h"
#include "research/report.h"
#include "support/error_message.h"
#include "support/files.h"

namespace fs = std::filesystem;
using namespace gt::research;
using nlohmann::json;

namespace {

// "noise" does not enter the score, so a trial that changes only it ties with the best: it must be rejected.
const json kSpace = json::parse(R"({
  "x": {"type": "float", "min": 0.1, "max": 10, "scale": "log", "initial": 1},
  "n": {"type": "int", "min": 0, "max": 8, "initial": 0},
  "opt": {"choices": ["a", "b", "c"], "initial": "a"},
  "noise": {"choices": [0, 1], "initial": 0}
})");

double known_score(const json& p) {
  const double lx = std::log(p.at("x").get<double>() / 3.0);
  const double dn = p.at("n").get<double>() - 5;
  return 1.0 - 0.1 * lx * lx - 0.01 * dn * dn + (p.at("opt") == "c" ? 0.05 : 0.0);
}

struct StandIn : Trainer {
  std::function<double(const json&, int64_t)> score = [](const json& p, int64_t) { return known_score(p); };
  std::vector<int64_t> ran;  // the trials it was asked to run
  std::atomic<bool>* stop_at_trial_flag = nullptr;
  int64_t stop_at_trial = -1;

  std::string name() const override { return "stand-in"; }
  void check(const json& p) const override {
    if (p.contains("refused")) gt::fail("no setting for 'refused'");
  }
  TrialResult run(const json& params, const fs::path& dir, const Budget& budget,
                  const std::atomic<bool>* stop) override {
    const int64_t trial = std::stoll(dir.filename().string().substr(6));
    ran.push_back(trial);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1) << "a fresh folder";
    EXPECT_EQ(json::parse(gt::read_text_file(dir / "params.json")), params);
    EXPECT_EQ(budget.max_steps, 7);
    fs::create_directories(dir / "weights");
    std::ofstream(dir / "weights" / "model.bin") << params.dump();
    if (trial == stop_at_trial) {
      std::ofstream(dir / "half-written") << "x";
      stop_at_trial_flag->store(true);  // as SIGINT would, in the middle of the trial
      gt::fail("interrupted");
    }
    return {score(params, trial), dir / "weights", {{"trial", trial}}};
  }
};

// One search in its own folder of the test's scratch directory (a test may hold several).
struct Search {
  Search(const gt::testing::TempDir& tmp, const std::string& name) : tmp(tmp), dir(tmp.path / name) {}
  const gt::testing::TempDir& tmp;
  fs::path dir;
  SearchSpace space = SearchSpace::parse(kSpace, "research.json");
  std::atomic<bool> stop{false};

  RatchetOptions options(int64_t iterations, const json& identity = {{"name", "test"}}) {
    RatchetOptions o;
    o.out_dir = dir;
    o.iterations = iterations;
    o.budget.max_steps = 7;
    o.identity = identity;
    o.stop = &stop;
    return o;
  }
  RatchetResult run(Trainer& t, Proposer& p, int64_t iterations) {
    return run_ratchet(space, t, p, options(iterations));
  }
  fs::path out() const { return dir; }
};

// What the history must show of any search, whatever the trainer and proposer.
void expect_ratchet_invariants(const std::vector<TrialRecord>& h, const SearchSpace& space) {
  std::optional<double> best;
  json best_params = space.initial();
  for (std::size_t i = 0; i < h.size(); ++i) {
    const TrialRecord& r = h[i];
    EXPECT_EQ(r.trial, static_cast<int64_t>(i));
    EXPECT_EQ(r.best_before, best) << "trial " << i;
    if (i == 0) {
      EXPECT_EQ(r.proposer, "initial");
      EXPECT_EQ(r.params, space.initial());
    } else if (!r.params.is_null()) {
      // Exactly one parameter differs from the best it was proposed from, and it is the one named.
      int differ = 0;
      for (const auto& p : space.params())
        if (r.params.at(p.name) != best_params.at(p.name)) {
          ++differ;
          EXPECT_EQ(p.name, r.changed);
        }
      EXPECT_EQ(differ, 1) << "trial " << i;
      EXPECT_EQ(r.previous, best_params.at(r.changed));
    }
    EXPECT_EQ(r.accepted, r.score.has_value() && (!best || *r.score > *best)) << "trial " << i;
    EXPECT_EQ(r.score.has_value(), r.failure.empty()) << "trial " << i;
    if (r.accepted) best = r.score, best_params = r.params;
  }
}

std::vector<json> history_json(const std::vector<TrialRecord>& h) {
  std::vector<json> out;
  for (const TrialRecord& r : h) {
    json j = to_json(r);
    for (const char* volatile_key : {"duration_s", "ended"}) j.erase(volatile_key);
    out.push_back(j);
  }
  return out;
}

}  // namespace

TEST(Ratchet, OneChangePerProposalAndOnlyStrictImprovementsAreKept) {
  gt::testing::TempDir tmp;
  Search s(tmp, "search");
  StandIn t;
  Mutator m(11);
  const RatchetResult res = s.run(t, m, 30);
  const auto& h = res.history;
  ASSERT_EQ(h.size(), 30u);
  EXPECT_EQ(res.ran, 30);
  EXPECT_FALSE(res.stopped);
  expect_ratchet_invariants(h, s.space);
  // The score is the stand-in's function of the params, and the search climbed.
  for (const TrialRecord& r : h) EXPECT_DOUBLE_EQ(*r.score, known_score(r.params));
  const TrialRecord* best = best_trial(h);
  ASSERT_NE(best, nullptr);
  EXPECT_GT(*best->score, *h[0].score);
  int kept = 0, ties = 0;
  for (const TrialRecord& r : h) {
    kept += r.accepted;
    // A tie (only "noise" changed) is not an improvement.
    if (r.trial > 0 && r.changed == "noise") {
      ++ties;
      EXPECT_FALSE(r.accepted);
      EXPECT_EQ(*r.score, *r.best_before);
    }
  }
  EXPECT_GE(kept, 3);
  EXPECT_LT(kept, 30);
  EXPECT_GE(ties, 1) << "the seed should draw a noise-only change at least once in 29 proposals";
  // Files: the same history read back, best.json, and weights kept for the best trial only.
  EXPECT_EQ(history_json(read_history(s.out() / "history.jsonl")), history_json(h));
  const json bj = json::parse(gt::read_text_file(s.out() / "best.json"));
  EXPECT_EQ(bj["trial"], best->trial);
  EXPECT_EQ(bj["score"], *best->score);
  EXPECT_EQ(bj["params"], best->params);
  EXPECT_EQ(bj["trials"], 30);
  for (const TrialRecord& r : h) {
    EXPECT_EQ(fs::exists(s.out() / trial_dir_name(r.trial) / "weights"), &r == best) << r.trial;
    EXPECT_EQ(r.weights.empty(), &r != best);
  }
  EXPECT_EQ(bj["weights"], trial_dir_name(best->trial) + "/weights");
}

TEST(Ratchet, ProposalsAreSeededAndAvoidRepeatingAConfiguration) {
  gt::testing::TempDir tmp;
  Search a(tmp, "a"), b(tmp, "b");
  StandIn ta, tb;
  Mutator ma(5), mb(5);
  EXPECT_EQ(history_json(a.run(ta, ma, 12).history), history_json(b.run(tb, mb, 12).history));
  // 12 trials in a space this size: the mutator redraws repeats, so every configuration is new.
  const auto h = read_history(a.out() / "history.jsonl");
  for (std::size_t i = 0; i < h.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) EXPECT_NE(h[i].params, h[j].params) << i << " repeats " << j;
}

TEST(Ratchet, CrashedAndNanTrialsAreRejectedAndTheSearchGoesOn) {
  gt::testing::TempDir tmp;
  Search s(tmp, "search");
  StandIn t;
  t.score = [](const json& p, int64_t trial) {
    if (trial == 2) gt::fail("sft: step 3: the loss of s-1 is nan");
    if (trial == 4) throw std::runtime_error("out of memory");
    if (trial == 5) return std::nan("");
    if (trial == 6) return -std::numeric_limits<double>::infinity();
    return known_score(p);
  };
  Mutator m(3);
  const auto h = s.run(t, m, 9).history;
  ASSERT_EQ(h.size(), 9u);
  expect_ratchet_invariants(h, s.space);
  EXPECT_EQ(h[2].failure, "sft: step 3: the loss of s-1 is nan");
  EXPECT_EQ(h[4].failure, "out of memory");
  EXPECT_EQ(h[5].failure, "the score is not finite (nan)");
  EXPECT_EQ(h[6].failure, "the score is not finite (-inf)");
  for (int i : {2, 4, 5, 6}) {
    EXPECT_FALSE(h[i].accepted);
    EXPECT_FALSE(h[i].score);
    EXPECT_FALSE(h[i].params.is_null()) << "the configuration that failed is recorded";
  }
  EXPECT_TRUE(h[7].score && h[8].score);
  const std::string md = gt::read_text_file(s.out() / "report.md");
  EXPECT_NE(md.find("| 5 | mutator | "), std::string::npos) << md;
  EXPECT_NE(md.find("rejected: the score is not finite (nan)"), std::string::npos) << md;
}

TEST(Ratchet, ResumeContinuesTheNumberingAndRunsNothingTwice) {
  gt::testing::TempDir tmp;
  Search whole(tmp, "whole"), parts(tmp, "parts");
  StandIn tw, t1, t2;
  Mutator mw(21), m1(21), m2(21);
  const auto full = whole.run(tw, mw, 10).history;

  const RatchetResult first = parts.run(t1, m1, 4);
  EXPECT_EQ(first.history.size(), 4u);
  EXPECT_EQ(t1.ran, (std::vector<int64_t>{0, 1, 2, 3}));
  const RatchetResult second = parts.run(t2, m2, 10);
  EXPECT_EQ(t2.ran, (std::vector<int64_t>{4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(second.ran, 6);
  EXPECT_EQ(history_json(second.history), history_json(full));
  // Asking again for the same count runs nothing.
  StandIn t3;
  Mutator m3(21);
  EXPECT_EQ(parts.run(t3, m3, 10).ran, 0);
  EXPECT_TRUE(t3.ran.empty());
}

TEST(Ratchet, AnInterruptedTrialIsDiscardedAndRunAgain) {
  gt::testing::TempDir tmp;
  Search whole(tmp, "whole"), parts(tmp, "parts");
  StandIn tw;
  Mutator mw(8), m1(8), m2(8);
  const auto full = whole.run(tw, mw, 7).history;

  StandIn t1;
  t1.stop_at_trial = 3;
  t1.stop_at_trial_flag = &parts.stop;
  const RatchetResult first = parts.run(t1, m1, 7);
  EXPECT_TRUE(first.stopped);
  EXPECT_EQ(first.history.size(), 3u) << "the interrupted trial is not recorded";
  EXPECT_EQ(read_history(parts.out() / "history.jsonl").size(), 3u);
  EXPECT_TRUE(fs::exists(parts.out() / "trial-0003" / "half-written"));

  parts.stop = false;
  StandIn t2;
  std::ostringstream progress;
  RatchetOptions o = parts.options(7);
  o.progress = &progress;
  const RatchetResult second = run_ratchet(parts.space, t2, m2, o);
  EXPECT_EQ(t2.ran, (std::vector<int64_t>{3, 4, 5, 6}));
  EXPECT_FALSE(fs::exists(parts.out() / "trial-0003" / "half-written"));
  EXPECT_NE(progress.str().find("discarded trial-0003, left unfinished by an interrupted run"), std::string::npos)
      << progress.str();
  EXPECT_NE(progress.str().find("resuming after trial 2 of 7"), std::string::npos) << progress.str();
  EXPECT_EQ(history_json(second.history), history_json(full));
}

TEST(Ratchet, ResumeRefusesOtherSettings) {
  gt::testing::TempDir tmp;
  Search s(tmp, "search");
  StandIn t;
  Mutator m(1);
  s.run(t, m, 2);
  const std::string err = gt::testing::thrown_message<gt::Error>([&] {
    run_ratchet(s.space, t, m, s.options(4, {{"name", "test"}, {"budget", 9}}));
  });
  EXPECT_NE(err.find("search.json: this search was started with other settings (budget)"), std::string::npos) << err;
}

TEST(Ratchet, ProposerErrorsAreRejectedTrials) {
  gt::testing::TempDir tmp;
  Search s(tmp, "search");
  StandIn t;
  // Each trial's command misbehaves in its own way; trial 6's is valid and must be run.
  const fs::path input = s.tmp.path / "input.json";
  const std::string script = s.tmp
                                 .write("proposer.sh", R"(#!/bin/sh
n=$(cat "$1")
echo $((n + 1)) > "$1"
case $n in
  0) echo 'not json' ;;
  1) echo '{"x": 2.0, "n": 3}' ;;
  2) echo '{"x": 50}' ;;
  3) echo '{"learning_rate": 0.1}' ;;
  4) echo 'about to fail' >&2; exit 3 ;;
  5) sleep 30 ;;
  6) cat > )" + input.string() + R"(; echo '{"n": 5}' ;;
  7) echo '{}' ;;
esac
)")
                                 .string();
  s.tmp.write("count", "0");
  CommandProposer p("sh " + script + " " + (s.tmp.path / "count").string(), std::chrono::milliseconds(1000));
  const auto h = s.run(t, p, 9).history;
  ASSERT_EQ(h.size(), 9u);
  expect_ratchet_invariants(h, s.space);
  const std::string who = "proposal refused: proposer command 'sh " + script;
  auto failure = [&](int i) { return h[i].failure; };
  for (int i : {1, 2, 3, 4, 5, 6, 8}) EXPECT_EQ(failure(i).rfind(who, 0), 0u) << failure(i);
  EXPECT_NE(failure(1).find("printed 'not json', which is not one JSON object"), std::string::npos) << failure(1);
  EXPECT_NE(failure(2).find("it changes 2 parameters (n, x); a proposal changes exactly one"), std::string::npos);
  EXPECT_NE(failure(3).find("'x' must be a number in [0.1, 10], got 50"), std::string::npos) << failure(3);
  EXPECT_NE(failure(4).find("unknown parameter 'learning_rate'"), std::string::npos) << failure(4);
  EXPECT_NE(failure(5).find("exited with status 3: about to fail"), std::string::npos) << failure(5);
  EXPECT_NE(failure(6).find("timed out after 1 s"), std::string::npos) << failure(6);
  EXPECT_NE(failure(8).find("it changes no parameter"), std::string::npos) << failure(8);
  for (int i : {1, 2, 3, 4, 5, 6, 8}) {
    EXPECT_TRUE(h[i].params.is_null());
    EXPECT_EQ(h[i].proposer, "command");
    EXPECT_FALSE(fs::exists(s.out() / trial_dir_name(i))) << "nothing was trained";
  }
  // Trial 7: a valid partial proposal, trained and kept (n 0 -> 5 raises the score).
  EXPECT_TRUE(h[7].failure.empty()) << h[7].failure;
  EXPECT_EQ(h[7].changed, "n");
  EXPECT_TRUE(h[7].accepted);
  EXPECT_EQ(t.ran, (std::vector<int64_t>{0, 7}));
  // What the command read: the trial number, the space, the best and the whole history so far.
  const json in = json::parse(gt::read_text_file(input));
  EXPECT_EQ(in["trial"], 7);
  EXPECT_EQ(in["space"], s.space.spec());
  EXPECT_EQ(in["best"]["trial"], 0);
  EXPECT_EQ(in["best"]["params"], s.space.initial());
  ASSERT_EQ(in["history"].size(), 7u);
  EXPECT_EQ(in["history"][1]["failure"], h[1].failure);
  EXPECT_TRUE(in["rules"].is_string());
}

TEST(Ratchet, CheckSpaceAsksTheTrainerAboutEveryCornerValue) {
  StandIn t;
  const SearchSpace ok = SearchSpace::parse(kSpace, "research.json");
  check_space(ok, t, "research.json");
  json spec = kSpace;
  spec["refused"] = {{"type", "int"}, {"min", 0}, {"max", 3}, {"initial", 1}};
  const SearchSpace bad = SearchSpace::parse(spec, "research.json");
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] { check_space(bad, t, "research.json"); }),
            "research.json: the stand-in trainer refuses the space's initial configuration: no setting for "
            "'refused'");
}

TEST(Report, TableAndPictureMarkEveryTrial) {
  std::vector<TrialRecord> h(4);
  for (int i = 0; i < 4; ++i) h[i].trial = i, h[i].proposer = i ? "mutator" : "initial";
  h[0].params = {{"x", 1}};
  h[0].score = 0.5, h[0].accepted = true;
  h[1].params = {{"x", 2}}, h[1].changed = "x", h[1].previous = 1, h[1].best_before = 0.5;
  h[1].score = 0.4;
  h[2].params = {{"x", 3}}, h[2].changed = "x", h[2].previous = 1, h[2].best_before = 0.5;
  h[2].failure = "crashed | badly\nat step 2";
  h[3].params = {{"x", 0.5}}, h[3].changed = "x", h[3].previous = 1, h[3].best_before = 0.5;
  h[3].score = 0.75, h[3].accepted = true;
  const std::string md = report_markdown(h, {{"budget", 1}});
  EXPECT_NE(md.find("4 trials: 2 kept, 2 rejected (1 of them failed). Best: trial 3, score 0.7500."), std::string::npos)
      << md;
  EXPECT_NE(md.find("| 1 | mutator | x 1 → 2 | 0.4000 | 0.5000 | rejected (not better) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | mutator | x 1 → 3 | – | 0.5000 | rejected: crashed \\| badly at step 2 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 3 | mutator | x 1 → 0.5 | 0.7500 | 0.5000 | **kept** |"), std::string::npos) << md;
  EXPECT_NE(md.find("| x | 0.5 | 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("![score by trial](score.svg)"), std::string::npos);
  const std::string svg = score_svg(h);
  auto count = [&](const std::string& what) {
    std::ptrdiff_t n = 0;
    for (std::size_t at = svg.find(what); at != std::string::npos; at = svg.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"kept\""), 2);
  EXPECT_EQ(count("class=\"rejected\""), 1);
  EXPECT_EQ(count("class=\"failed\""), 1);
  EXPECT_EQ(count("class=\"best\""), 1);
  EXPECT_EQ(count("<svg"), 1);
  EXPECT_NE(svg.find("crashed | badly"), std::string::npos) << "the tooltip keeps the reason";
  EXPECT_EQ(svg.rfind("</svg>\n"), svg.size() - 7);
}
