// End to end: `gemma-tune eval --completions` on the committed set in tests/fixtures/eval, then `--compare`. The
// expected numbers come from per-sample expectations written here from the weights, not from a previous run.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/files.h"
#include "eval/eval.h"
#include "eval/report.h"
#include "support/files.h"

namespace fs = std::filesystem;
using gt::testing::TempDir;
using nlohmann::json;

namespace {

const fs::path kFixtures = fs::path(GT_FIXTURES) / "eval";

struct Expected {
  std::string category;
  double reward;
  std::array<int, 6> metrics;  // json_valid, plugin_id_match, count_match, no_hallucinate, hydrated, deps_chain
};
const char* kMetricKeys[] = {"json_valid",     "plugin_id_match", "count_match",
                             "no_hallucinate", "hydrated",        "deps_chain"};
const char* kMetricLabels[] = {"JSON valid",     "Plugin-ID match", "Count match",
                               "No-hallucinate", "Hydrated",        "Deps chain"};

const gt::rl::RewardWeights W;
const double kPerfect = W.valid_json + W.in_candidates + W.recall + W.no_wrong_picks + W.exact_count + W.hydration;
const std::array<int, 6> kAll = {1, 1, 1, 1, 1, 1};

// completions_a.jsonl, sample by sample (what each completion does wrong is in the comment).
std::map<std::string, Expected> expected_a() {
  return {
      {"s1", {"1_step", kPerfect, kAll}},
      {"s2", {"1_step", 0.0, {0, 0, 0, 0, 0, 0}}},  // trailing comma: invalid JSON
      // only the first of two gold plugins
      {"s3",
       {"2_step",
        W.valid_json + W.in_candidates + W.recall / 2 + W.no_wrong_picks + W.hydration / 2,
        {1, 0, 0, 1, 1, 0}}},
      {"s4", {"2_step", kPerfect, kAll}},                                  // fenced, after a <think> block
      {"s5", {"3_step", kPerfect - W.hydration / 3, {1, 1, 1, 1, 0, 1}}},  // "nights": "TBD"
      {"s6",
       {"4_step",
        W.valid_json + W.recall + W.wrong_pick + W.hydration,  // an extra, hallucinated plugin
        {1, 0, 0, 0, 1, 1}}},
      {"s7", {"multi_turn", kPerfect, {1, 1, 1, 1, 1, 0}}},  // dependency reversed
      {"s8", {"multi_turn", 0.0, {0, 0, 0, 0, 0, 0}}},       // thought never closed
  };
}

// completions_b.jsonl (lines in reverse order): all perfect but s6, which repeats the hotel.
std::map<std::string, Expected> expected_b() {
  auto e = expected_a();
  for (auto& [id, x] : e) x = {x.category, kPerfect, kAll};
  e["s6"] = {"4_step", W.valid_json + W.in_candidates + W.recall + W.wrong_pick + W.hydration, {1, 1, 0, 1, 1, 1}};
  return e;
}

struct Row {
  std::size_t n = 0;
  double mean = 0;
  std::array<double, 6> share{};
};

Row row_of(const std::map<std::string, Expected>& e, const std::string& category = "") {
  Row r;
  for (const auto& [id, x] : e) {
    if (!category.empty() && x.category != category) continue;
    ++r.n;
    r.mean += x.reward / W.max_reward();
    for (int k = 0; k < 6; ++k) r.share[k] += x.metrics[k];
  }
  r.mean /= r.n;
  for (auto& s : r.share) s /= r.n;
  return r;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

void check_report(const fs::path& dir, const std::map<std::string, Expected>& e) {
  ASSERT_TRUE(fs::exists(dir / "report.md"));
  json report = json::parse(std::ifstream(dir / "report.json"));
  Row all = row_of(e);
  EXPECT_EQ(report["overall"]["n"], e.size());
  EXPECT_NEAR(report["overall"]["mean"].get<double>(), all.mean, 1e-6);
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(report["overall"][kMetricKeys[k]].get<double>(), all.share[k], 1e-6) << k;
  for (const char* cat : {"1_step", "2_step", "3_step", "4_step", "multi_turn"}) {
    Row r = row_of(e, cat);
    EXPECT_EQ(report["categories"][cat]["n"], r.n) << cat;
    EXPECT_NEAR(report["categories"][cat]["mean"].get<double>(), r.mean, 1e-6) << cat;
  }

  std::ifstream lines(dir / "completions.jsonl");
  std::string line;
  std::size_t count = 0;
  while (std::getline(lines, line)) {
    json c = json::parse(line);
    const Expected& x = e.at(c["id"].get<std::string>());
    ++count;
    EXPECT_EQ(c["category"], x.category);
    EXPECT_TRUE(c["completion"].is_string());
    EXPECT_NEAR(c["reward"].get<double>(), x.reward, 1e-6) << c["id"];
    EXPECT_EQ(c["terms"].size(), 7u);
    for (int k = 0; k < 6; ++k) EXPECT_EQ(c["metrics"][kMetricKeys[k]], x.metrics[k]) << c["id"] << " " << k;
  }
  EXPECT_EQ(count, e.size());

  std::string md = gt::read_text_file(dir / "report.md");
  EXPECT_NE(md.find(fmt("| %.3f |", all.mean)), std::string::npos) << md;
  for (const char* label : kMetricLabels) EXPECT_NE(md.find(label), std::string::npos) << label;
}

}  // namespace

TEST(EvalEndToEnd, CompletionsThenCompare) {
  TempDir tmp;
  const std::string data = (kFixtures / "data.jsonl").string();
  for (const char* run_name : {"a", "b"}) {
    auto r = gt::testing::run_gemma_tune("eval --completions " +
                                         (kFixtures / ("completions_" + std::string(run_name) + ".jsonl")).string() +
                                         " --data " + data + " --out " + (tmp.path / run_name).string());
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("| Mean | JSON valid | Plugin-ID match"), std::string::npos) << r.output;
  }
  auto a = expected_a(), b = expected_b();
  check_report(tmp.path / "a", a);
  check_report(tmp.path / "b", b);

  auto cmp = gt::testing::run_gemma_tune("eval --compare " + (tmp.path / "a" / "report.json").string() + " " +
                                         (tmp.path / "b" / "report.json").string());
  ASSERT_EQ(cmp.rc, 0) << cmp.output;
  Row ra = row_of(a), rb = row_of(b);
  double reduction = ((1 - ra.mean) - (1 - rb.mean)) / (1 - ra.mean);
  EXPECT_NE(cmp.output.find("| Mean | " + fmt("%.3f", ra.mean) + " | " + fmt("%.3f", rb.mean) + " | " +
                            fmt("%.1f%%", 100 * reduction) + " |"),
            std::string::npos)
      << cmp.output;
  for (int k = 0; k < 6; ++k)
    EXPECT_NE(cmp.output.find(std::string("| ") + kMetricLabels[k] + " | " + fmt("%.1f%%", 100 * ra.share[k]) + " | " +
                              fmt("%.1f%%", 100 * rb.share[k]) + " |"),
              std::string::npos)
        << kMetricLabels[k] << "\n"
        << cmp.output;
  // The per-sample comparison that follows the tables, from the expected rewards sample by sample.
  std::size_t better = 0, worse = 0, same = 0;
  for (const auto& [id, x] : a) {
    const double d = b.at(id).reward - x.reward;
    (d > 1e-9 ? better : d < -1e-9 ? worse : same) += 1;
  }
  EXPECT_NE(cmp.output.find("Per sample (" + std::to_string(a.size()) + " paired): B better on " +
                            std::to_string(better) + ", worse on " + std::to_string(worse) + ", the same on " +
                            std::to_string(same) + ". Mean difference B - A " + fmt("%+.3f", rb.mean - ra.mean)),
            std::string::npos)
      << cmp.output;
  for (const char* cat : {"1_step", "2_step", "3_step", "4_step", "multi_turn"}) {
    Row ca = row_of(a, cat), cb = row_of(b, cat);
    double red = ((1 - ca.mean) - (1 - cb.mean)) / (1 - ca.mean);
    EXPECT_NE(
        cmp.output.find(std::string("| ") + cat + " | " + fmt("%.3f", ca.mean) + " | " + fmt("%.3f", cb.mean) + " | " +
                        fmt("%.1f%%", 100 * red) + " | " + std::to_string(ca.n) + " | " + std::to_string(cb.n) + " |"),
        std::string::npos)
        << cat << "\n"
        << cmp.output;
  }
}

TEST(EvalEndToEnd, BadInputIsAClearError) {
  TempDir tmp;
  const std::string data = (kFixtures / "data.jsonl").string();
  auto expect_error = [&](const std::string& args, const std::string& message) {
    auto r = gt::testing::run_gemma_tune(args);
    EXPECT_EQ(r.rc, 1) << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << "wanted: " << message << "\ngot: " << r.output;
  };
  std::string out = " --out " + (tmp.path / "out").string();

  auto empty = tmp.write("empty.jsonl", "");
  expect_error("eval --completions " + empty.string() + " --data " + data + out,
               empty.string() + ": no completions (the file is empty)");
  expect_error("eval --completions " + (kFixtures / "completions_a.jsonl").string() + " --data " + empty.string() + out,
               empty.string() + ": no samples (the file is empty)");

  auto extra =
      tmp.write("extra.jsonl", "{\"id\": \"s1\", \"completion\": \"x\"}\n{\"id\": \"s99\", \"completion\": \"x\"}\n");
  expect_error("eval --completions " + extra.string() + " --data " + data + out,
               extra.string() + ":2: id 's99' is not in the data");
  auto dup =
      tmp.write("dup.jsonl", "{\"id\": \"s1\", \"completion\": \"x\"}\n\n{\"id\": \"s1\", \"completion\": \"y\"}\n");
  expect_error("eval --completions " + dup.string() + " --data " + data + out,
               dup.string() + ":3: id 's1' repeats line 1");
  auto missing = tmp.write("missing.jsonl", "{\"id\": \"s1\", \"completion\": \"x\"}\n");
  expect_error("eval --completions " + missing.string() + " --data " + data + out,
               missing.string() + ": no completion for id 's2' (" + data + ":2)");
  auto not_string = tmp.write("num.jsonl", "{\"id\": 1, \"completion\": \"x\"}\n");
  expect_error("eval --completions " + not_string.string() + " --data " + data + out,
               not_string.string() + ":1: field 'id' must be a string");

  // A prompt-only sample (no gold plan) cannot be scored.
  std::string lines = gt::read_text_file(kFixtures / "data.jsonl");
  json first = json::parse(lines.substr(0, lines.find('\n')));
  std::string text;
  for (std::string id : {"p0", "p1", "p2"}) {
    json s = first;
    s["id"] = id;
    if (id == "p2") s.erase("target");
    text += s.dump() + "\n";
  }
  auto prompts = tmp.write("prompts.jsonl", text);
  auto comps = tmp.write("comps.jsonl",
                         "{\"id\":\"p0\",\"completion\":\"\"}\n{\"id\":\"p1\",\"completion\":\"\"}\n"
                         "{\"id\":\"p2\",\"completion\":\"\"}\n");
  expect_error("eval --completions " + comps.string() + " --data " + prompts.string() + out,
               prompts.string() + ":3: sample 'p2' has no target; scoring needs its gold plan");
  EXPECT_FALSE(fs::exists(tmp.path / "out" / "report.json"));

  expect_error("eval --model some/dir --data " + data + out, "some/dir");
  expect_error("eval --compare " + (tmp.path / "nope.json").string() + " " + (tmp.path / "nope.json").string(),
               "nope.json: cannot open");
}

TEST(Report, ErrorReductionAndPerfectBaseline) {
  EXPECT_NEAR(*gt::eval::error_reduction(0.918, 0.940), (0.082 - 0.060) / 0.082, 1e-12);  // the published pair
  EXPECT_FALSE(gt::eval::error_reduction(1.0, 0.9).has_value());
  gt::eval::Report a, b;
  a.overall = {.n = 2, .mean = 1.0};
  b.overall = {.n = 2, .mean = 0.5};
  a.categories = {{"1_step", a.overall}};
  b.categories = {{"2_step", b.overall}};
  std::string md = gt::eval::markdown_compare(a, "A.json", b, "B.json");
  EXPECT_NE(md.find("| Mean | 1.000 | 0.500 | n/a |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1_step | 1.000 | - | - | 2 | 0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2_step | - | 0.500 | - | 0 | 2 |"), std::string::npos) << md;
}

TEST(Report, JsonRoundTripAndFieldErrors) {
  TempDir tmp;
  gt::eval::Report r;
  r.overall = {.n = 3, .mean = 0.5, .json_valid = 1, .plugin_id_match = 2.0 / 3};
  r.categories = {{"1_step", r.overall}};
  auto path = tmp.write("report.json", gt::eval::to_json(r).dump());
  gt::eval::Report back = gt::eval::read_report(path);
  EXPECT_EQ(back.overall.n, 3u);
  EXPECT_NEAR(back.overall.plugin_id_match, 2.0 / 3, 1e-6);
  ASSERT_EQ(back.categories.size(), 1u);
  json broken = gt::eval::to_json(r);
  broken["categories"]["1_step"].erase("mean");
  path = tmp.write("broken.json", broken.dump());
  try {
    gt::eval::read_report(path);
    FAIL();
  } catch (const gt::Error& e) {
    EXPECT_EQ(std::string(e.what()), path.string() + ": field 'categories.1_step.mean' is missing");
  }
}

TEST(Eval, ScoresThroughAnyCompletionSource) {
  // The generation path will hand score_samples a different source; nothing else changes.
  auto samples = gt::data::read_samples(kFixtures / "data.jsonl");
  std::vector<std::string> asked;
  auto results = gt::eval::score_samples(
      samples,
      [&](const gt::data::PlanSample& s) {
        asked.push_back(s.id);
        return json{{"plugins", s.target->plan["plugins"]}}.dump();
      },
      W);
  ASSERT_EQ(results.size(), samples.size());
  EXPECT_EQ(asked.size(), samples.size());
  for (const auto& r : results) EXPECT_NEAR(r.score.reward, kPerfect, 1e-12) << r.id;
  gt::eval::Report rep = gt::eval::summarize(results, W);
  EXPECT_NEAR(rep.overall.mean, 1.0, 1e-12);
  EXPECT_EQ(rep.categories.size(), 5u);
}
