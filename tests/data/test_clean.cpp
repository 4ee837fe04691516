#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "base/json_file.h"
#include "data/clean.h"
#include "support/files.h"

using namespace gt::data;
using gt::read_json_file;
using gt::read_text_file;
using gt::testing::TempDir;
using nlohmann::json;

namespace {

// Two steps, the second depending on the first; breaks no rule.
json clean_sample() {
  return json::parse(R"({"id": "s-1", "category": "2_step",
    "candidates": [
      {"pluginId": "plugin-1", "name": "Restaurant Finder", "description": "Finds restaurants",
       "identifier": "rest_api", "method": "GET"},
      {"pluginId": "plugin-2", "name": "Table Booking", "description": "Books a table",
       "identifier": "rest_api", "method": "POST"},
      {"pluginId": "plugin-3", "name": "Weather Forecast", "description": "Forecast",
       "identifier": "rest_api", "method": "GET"}],
    "messages": [{"role": "user", "content": "Find a Thai restaurant in Osaka, then book a table there for 4."}],
    "target": {"thinking": "Restaurant Finder, then Table Booking on its result.",
               "plan": {"plugins": [
                 {"pluginId": "plugin-1", "name": "Restaurant Finder", "description": "Finds restaurants",
                  "identifier": "rest_api", "method": "GET",
                  "api_request_parameters": {"cuisine": "Thai", "city": "Osaka"},
                  "all_parameters_hydrated": true, "dependencies": []},
                 {"pluginId": "plugin-2", "name": "Table Booking", "description": "Books a table",
                  "identifier": "rest_api", "method": "POST",
                  "api_request_parameters": {"party_size": 4, "options": {"seating": ["indoor"]}},
                  "all_parameters_hydrated": true, "dependencies": ["plugin-1"]}]}}})");
}

json& step(json& sample, int i) { return sample["target"]["plan"]["plugins"][i]; }

// Cleans one sample on its own and returns the one reason it was dropped for.
std::string reason_for(const json& sample) {
  CleanResult r = clean_jsonl(sample.dump() + "\n");
  EXPECT_EQ(r.report.total, 1u);
  if (r.report.dropped.size() != 1) return "kept";
  EXPECT_TRUE(r.kept.empty());
  return std::string(reason_name(r.report.dropped[0].reason));
}

std::string detail_for(const json& sample) {
  CleanResult r = clean_jsonl(sample.dump() + "\n");
  return r.report.dropped.empty() ? "" : r.report.dropped[0].detail;
}

}  // namespace

TEST(Clean, ACleanSampleIsKeptByteForByte) {
  std::string line = clean_sample().dump(2);
  line.erase(std::remove(line.begin(), line.end(), '\n'), line.end());  // one line, odd spacing kept
  CleanResult r = clean_jsonl(line + "\r\n");
  EXPECT_EQ(r.report.total, 1u);
  EXPECT_EQ(r.report.kept, 1u);
  EXPECT_TRUE(r.report.dropped.empty());
  EXPECT_EQ(r.kept, line + "\n");
}

TEST(Clean, UnparseableLinesAreCountedWithTheirLineNumbers) {
  json not_a_sample = clean_sample();
  not_a_sample.erase("candidates");
  std::string text = clean_sample().dump() + "\n{\"id\": \"s-2\", oops\n\n" + not_a_sample.dump() + "\n[1, 2]\n";
  CleanResult r = clean_jsonl(text);
  EXPECT_EQ(r.report.total, 4u);  // the blank line is not a sample
  EXPECT_EQ(r.report.kept, 1u);
  ASSERT_EQ(r.report.dropped.size(), 3u);
  EXPECT_EQ(r.report.dropped[0].line, 2u);
  EXPECT_EQ(r.report.dropped[0].reason, DropReason::unparseable);
  EXPECT_TRUE(r.report.dropped[0].detail.starts_with("invalid JSON: ")) << r.report.dropped[0].detail;
  EXPECT_EQ(r.report.dropped[1].line, 4u);
  EXPECT_EQ(r.report.dropped[1].id, "s-1");
  EXPECT_EQ(r.report.dropped[1].detail, "field 'candidates' is missing");
  EXPECT_EQ(r.report.dropped[2].line, 5u);
  EXPECT_EQ(r.report.dropped[2].detail, "a sample must be a JSON object");
  EXPECT_EQ(r.report.count(DropReason::unparseable), 3u);
}

TEST(Clean, NoTarget) {
  json s = clean_sample();
  s.erase("target");
  EXPECT_EQ(reason_for(s), "no_target");
}

TEST(Clean, PlanShape) {
  auto broken = [](auto&& change) {
    json s = clean_sample();
    change(s);
    return reason_for(s);
  };
  EXPECT_EQ(broken([](json& s) { s["target"]["plan"] = "plugin-1"; }), "plan_shape");
  EXPECT_EQ(broken([](json& s) { s["target"]["plan"] = json::object(); }), "plan_shape");
  EXPECT_EQ(broken([](json& s) { s["target"]["plan"]["plugins"] = step(s, 0); }), "plan_shape");
  EXPECT_EQ(broken([](json& s) { s["target"]["plan"]["plugins"] = json::array(); }), "plan_shape");
  EXPECT_EQ(broken([](json& s) { s["target"]["plan"]["plugins"].push_back("plugin-3"); }), "plan_shape");
  for (const char* key : {"pluginId", "name", "description", "identifier", "method", "api_request_parameters",
                          "all_parameters_hydrated", "dependencies"})
    EXPECT_EQ(broken([&](json& s) { step(s, 1).erase(key); }), "plan_shape") << key;
  const std::pair<const char*, json> wrong_types[] = {{"pluginId", 1},
                                                      {"name", nullptr},
                                                      {"description", {"x"}},
                                                      {"identifier", false},
                                                      {"method", 2},
                                                      {"api_request_parameters", json::array({"Thai"})},
                                                      {"all_parameters_hydrated", "true"},
                                                      {"dependencies", json::array({0})},
                                                      {"dependencies", "plugin-1"}};
  for (const auto& kv : wrong_types)  // not a structured binding: clang 14 cannot capture one
    EXPECT_EQ(broken([&](json& s) { step(s, 1)[kv.first] = kv.second; }), "plan_shape") << kv.first << " = " << kv.second;
  EXPECT_EQ(broken([](json& s) { step(s, 1)["pluginId"] = "plugin-1"; }), "plan_shape");

  json s = clean_sample();
  step(s, 1)["method"] = 2;
  EXPECT_EQ(detail_for(s), "field 'target.plan.plugins[1].method' must be a string");
  // Keys beyond the eight are allowed.
  s = clean_sample();
  step(s, 0)["note"] = "extra";
  EXPECT_EQ(reason_for(s), "kept");
}

TEST(Clean, EmptyThinking) {
  json s = clean_sample();
  s["target"]["thinking"] = "";
  EXPECT_EQ(reason_for(s), "empty_thinking");
  s["target"]["thinking"] = " \n\t ";
  EXPECT_EQ(reason_for(s), "empty_thinking");
}

TEST(Clean, UnknownPlugin) {
  json s = clean_sample();
  s["candidates"].erase(1);
  EXPECT_EQ(reason_for(s), "unknown_plugin");
  EXPECT_EQ(detail_for(s), "target.plan.plugins[1].pluginId 'plugin-2' is not among the candidates");
}

TEST(Clean, MissingDependency) {
  json s = clean_sample();
  step(s, 1)["dependencies"] = {"plugin-3"};  // a candidate, but not a step of the plan
  EXPECT_EQ(reason_for(s), "missing_dependency");
  EXPECT_EQ(detail_for(s), "target.plan.plugins[1].dependencies names 'plugin-3', which is not a step of the plan");
}

TEST(Clean, DependencyCycle) {
  json s = clean_sample();
  step(s, 0)["dependencies"] = {"plugin-2"};
  EXPECT_EQ(reason_for(s), "dependency_cycle");
  s = clean_sample();
  step(s, 0)["dependencies"] = {"plugin-1"};
  EXPECT_EQ(reason_for(s), "dependency_cycle");
}

TEST(Clean, UnhydratedValue) {
  for (const char* bad :
       {R"("")", R"("   ")", "[]", "{}", "null", R"("see https://example.com/menu")", R"("<city>")", R"("{{city}}")",
        R"("YOUR_CITY")", R"("TBD")", R"("todo")", R"("xxx")", R"("...")", R"("string")", R"("Placeholder")",
        R"("N/A")", R"({"seating": [""]})", R"({"seating": ["indoor", "TBD"]})", R"([{"a": null}])"}) {
    json s = clean_sample();
    step(s, 1)["api_request_parameters"]["options"] = json::parse(bad);
    EXPECT_EQ(reason_for(s), "unhydrated_value") << bad;
  }
  json s = clean_sample();
  step(s, 0)["api_request_parameters"]["city"] = "TBD";
  EXPECT_EQ(detail_for(s), "target.plan.plugins[0].api_request_parameters.city: \"TBD\"");
  // Numbers, booleans and zero are values; a step without parameters has none to be empty.
  s = clean_sample();
  step(s, 1)["api_request_parameters"] = {{"n", 0}, {"flag", false}};
  step(s, 0)["api_request_parameters"] = json::object();
  EXPECT_EQ(reason_for(s), "kept");
}

TEST(Clean, NotMarkedHydrated) {
  json s = clean_sample();
  step(s, 1)["all_parameters_hydrated"] = false;
  EXPECT_EQ(reason_for(s), "not_marked_hydrated");
}

TEST(Clean, DuplicatesAreTheSameNormalizedMessagesCandidateSetAndPlan) {
  json first = clean_sample();
  json same = clean_sample();
  same["id"] = "s-9";
  same["target"]["thinking"] = "Different words, same task.";
  same["system"] = "Another system prompt.";
  same["messages"][0]["content"] = "  find a THAI restaurant in Osaka,\tthen book  a table there for 4. ";
  std::swap(same["candidates"][0], same["candidates"][2]);  // a set: order does not count
  json other_plan = clean_sample();
  step(other_plan, 1)["api_request_parameters"]["party_size"] = 5;
  json other_candidates = clean_sample();
  other_candidates["candidates"][2]["pluginId"] = "plugin-4";

  CleanResult r =
      clean_jsonl(first.dump() + "\n" + other_plan.dump() + "\n" + same.dump() + "\n" + other_candidates.dump() + "\n");
  EXPECT_EQ(r.report.kept, 3u);
  ASSERT_EQ(r.report.dropped.size(), 1u);
  EXPECT_EQ(r.report.dropped[0].line, 3u);
  EXPECT_EQ(r.report.dropped[0].id, "s-9");
  EXPECT_EQ(r.report.dropped[0].reason, DropReason::duplicate);
  EXPECT_EQ(r.report.dropped[0].detail, "same as line 1");
  EXPECT_EQ(duplicate_key(sample_from_json(first, "a")), duplicate_key(sample_from_json(same, "b")));
}

TEST(Clean, TheFirstBrokenRuleIsTheReasonAndDuplicatesAreCheckedLast) {
  json s = clean_sample();
  s["target"]["thinking"] = "";
  s["candidates"].erase(1);
  step(s, 1)["all_parameters_hydrated"] = false;
  EXPECT_EQ(reason_for(s), "empty_thinking");
  // A copy of a bad sample is counted for its defect, not as a duplicate.
  CleanResult r = clean_jsonl(s.dump() + "\n" + s.dump() + "\n");
  EXPECT_EQ(r.report.count(DropReason::empty_thinking), 2u);
  EXPECT_EQ(r.report.count(DropReason::duplicate), 0u);
}

TEST(Clean, ReportCountsEveryReasonInCheckOrder) {
  json dup = clean_sample();
  json no_thinking = clean_sample();
  no_thinking["id"] = "s-2";
  no_thinking["target"]["thinking"] = "";
  json unmarked = clean_sample();
  unmarked["id"] = "s-3";
  step(unmarked, 0)["all_parameters_hydrated"] = false;
  CleanResult r = clean_jsonl(clean_sample().dump() + "\n" + dup.dump() + "\nnot json\n" + no_thinking.dump() + "\n" +
                              unmarked.dump() + "\n" + dup.dump() + "\n");
  auto j = r.report.to_json();
  EXPECT_EQ(j["total"], 6);
  EXPECT_EQ(j["kept"], 1);
  EXPECT_EQ(j["dropped"], 5);
  std::vector<std::string> order;
  for (const auto& [name, count] : j["reasons"].items()) order.push_back(name);
  std::vector<std::string> expected;
  for (DropReason reason : kDropReasons) expected.emplace_back(reason_name(reason));
  EXPECT_EQ(order, expected);
  EXPECT_EQ(j["reasons"]["duplicate"], 2);
  EXPECT_EQ(j["reasons"]["unparseable"], 1);
  EXPECT_EQ(j["reasons"]["empty_thinking"], 1);
  EXPECT_EQ(j["reasons"]["not_marked_hydrated"], 1);
  EXPECT_EQ(j["reasons"]["plan_shape"], 0);
  ASSERT_EQ(j["dropped_samples"].size(), 5u);
  EXPECT_EQ(j["dropped_samples"][1]["line"], 3);
  EXPECT_EQ(j["dropped_samples"][1]["reason"], "unparseable");
}

TEST(Clean, CommandLeavesTheInputAloneAndWritesOutputAndReport) {
  TempDir dir;
  json bad = clean_sample();
  bad["id"] = "s-2";
  step(bad, 0)["api_request_parameters"]["city"] = "<city>";
  const std::string input = clean_sample().dump() + "\n" + bad.dump() + "\n{broken\n" + clean_sample().dump() + "\n";
  auto in = dir.write("in.jsonl", input);
  auto before = std::filesystem::last_write_time(in);

  auto r = gt::testing::run_gemma_tune("data clean " + in.string() + " --out " + (dir.path / "out.jsonl").string() +
                                       " --report " + (dir.path / "report.json").string());
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("kept 1 of 4 samples, dropped 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unhydrated_value"), std::string::npos) << r.output;
  EXPECT_EQ(read_text_file(in), input);
  EXPECT_EQ(std::filesystem::last_write_time(in), before);
  EXPECT_EQ(read_text_file(dir.path / "out.jsonl"), clean_sample().dump() + "\n");
  json report = read_json_file(dir.path / "report.json");
  EXPECT_EQ(report["input"], in.string());
  EXPECT_EQ(report["total"], 4);
  EXPECT_EQ(report["kept"], 1);
  EXPECT_EQ(report["reasons"]["unhydrated_value"], 1);
  EXPECT_EQ(report["reasons"]["unparseable"], 1);
  EXPECT_EQ(report["reasons"]["duplicate"], 1);
  EXPECT_EQ(report["dropped_samples"][1]["line"], 3);

  // Naming the input as an output is refused before anything is written.
  r = gt::testing::run_gemma_tune("data clean " + in.string() + " --out " + in.string() + " --report " +
                                  (dir.path / "r2.json").string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("would overwrite the input"), std::string::npos) << r.output;
  EXPECT_EQ(read_text_file(in), input);
  EXPECT_FALSE(std::filesystem::exists(dir.path / "r2.json"));
}

// Issue 19: one line of invalid UTF-8 is dropped and counted like any other bad line (it stopped the whole file
// and left no report), a line nested 300k levels deep is one more unparseable line, and a folder is refused.
TEST(Clean, HostileLinesAreDroppedAndTheReportIsWritten) {
  TempDir dir;
  const std::string input = clean_sample().dump() + "\n{\"id\": \"\xff\xfe\"}\n" + std::string(300000, '[') + "\n";
  auto in = dir.write("in.jsonl", input);
  CleanReport r = clean_file(in, dir.path / "out.jsonl", dir.path / "report.json");
  EXPECT_EQ(r.total, 3u);
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.count(DropReason::unparseable), 2u);
  json report = read_json_file(dir.path / "report.json");
  EXPECT_EQ(report["dropped_samples"][0]["line"], 2);
  EXPECT_EQ(report["dropped_samples"][1]["line"], 3);
  EXPECT_NE(report["dropped_samples"][1]["detail"].get<std::string>().find("nested deeper than 512 levels"),
            std::string::npos);
  try {
    clean_file(dir.path, dir.path / "o.jsonl", dir.path / "r.json");
    ADD_FAILURE() << "a folder was cleaned";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a folder, expected a file"), std::string::npos) << e.what();
  }
}
