#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/error.h"
#include "data/plan.h"
#include "data/plan_sample.h"
#include "support/files.h"

using namespace gt::data;
using gt::testing::TempDir;
using nlohmann::json;

namespace {

json valid_sample() {
  return json::parse(R"({"id": "s-000123", "category": "2_step",
    "candidates": [
      {"pluginId": "plugin-1", "name": "Nutrition BOT", "description": "Nutrition type stuff",
       "identifier": "rest_api", "method": "POST",
       "parameters": {"goal": {"type": "string", "required": true}}},
      {"pluginId": "plugin-2", "name": "Workout", "description": "Plans", "identifier": "rest_api", "method": "GET"}],
    "messages": [{"role": "user", "content": "I want to improve my fitness routine"}],
    "target": {"thinking": "The user wants ...",
               "plan": {"plugins": [{"pluginId": "plugin-1", "name": "Nutrition BOT",
                                     "description": "Nutrition type stuff", "identifier": "rest_api",
                                     "method": "POST", "api_request_parameters": {"goal": "muscle gain"},
                                     "all_parameters_hydrated": true, "dependencies": []}]}}})");
}

std::string error_of(const json& j, const std::string& source = "data.jsonl:17") {
  try {
    sample_from_json(j, source);
  } catch (const gt::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PlanSample, ReadsTheSpecExampleAndDefaultsTheSystemPrompt) {
  PlanSample s = sample_from_json(valid_sample(), "x");
  EXPECT_EQ(s.id, "s-000123");
  ASSERT_EQ(s.candidates.size(), 2u);
  EXPECT_TRUE(s.candidates[0].parameters.has_value());
  EXPECT_FALSE(s.candidates[1].parameters.has_value());
  EXPECT_EQ(s.system_prompt(), kDefaultSystem);
  EXPECT_TRUE(s.system_prompt().starts_with("You are an AI agent orchestrator. Given a user request"));
  json j = valid_sample();
  j["system"] = "Be brief.";
  EXPECT_EQ(sample_from_json(j, "x").system_prompt(), "Be brief.");
}

TEST(PlanSample, ErrorsNameFileLineAndField) {
  json j = valid_sample();
  j["candidates"][1]["pluginId"] = 42;
  EXPECT_EQ(error_of(j), "data.jsonl:17: field 'candidates[1].pluginId' must be a string");
  j = valid_sample();
  j["candidates"][0].erase("method");
  EXPECT_EQ(error_of(j), "data.jsonl:17: field 'candidates[0].method' is missing");
  j = valid_sample();
  j["candidates"][0]["parameters"] = "goal";
  EXPECT_EQ(error_of(j), "data.jsonl:17: field 'candidates[0].parameters' must be an object");
  j = valid_sample();
  j["category"] = "5_step";
  EXPECT_NE(error_of(j).find("field 'category' must be one of 1_step"), std::string::npos);
  j = valid_sample();
  j["messages"].push_back({{"role", "assistant"}, {"content", "ok"}});
  EXPECT_EQ(error_of(j),
            "data.jsonl:17: field 'messages[1].role' must be \"user\": the plan answers the last user turn");
  j = valid_sample();
  j["messages"][0]["role"] = "system";
  EXPECT_EQ(error_of(j), "data.jsonl:17: field 'messages[0].role' must be \"user\" or \"assistant\"");
  j = valid_sample();
  j["target"].erase("thinking");
  EXPECT_EQ(error_of(j), "data.jsonl:17: field 'target.thinking' is missing");
  EXPECT_EQ(error_of(json::array()), "data.jsonl:17: a sample must be a JSON object");
}

TEST(PlanSample, TargetIsOptionalAndABadPlanIsStillReadable) {
  json j = valid_sample();
  j.erase("target");
  EXPECT_FALSE(sample_from_json(j, "x").target.has_value());
  // Cleaning must see a malformed plan to count it, so reading keeps it as it is.
  j = valid_sample();
  j["target"]["plan"] = "not a plan";
  EXPECT_EQ(sample_from_json(j, "x").target->plan, "not a plan");
}

TEST(PlanSample, GoldPlanIsCheckedStrictly) {
  auto gold_error = [](const json& j) {
    try {
      gold_plan(sample_from_json(j, "heldout.jsonl:3"));
    } catch (const gt::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(gold_plan(sample_from_json(valid_sample(), "x")).size(), 1u);
  json j = valid_sample();
  j.erase("target");
  EXPECT_EQ(gold_error(j), "heldout.jsonl:3: sample 's-000123' has no target; scoring needs its gold plan");
  j = valid_sample();
  j["target"]["plan"]["plugins"][0]["pluginId"] = nullptr;
  EXPECT_EQ(gold_error(j), "heldout.jsonl:3: field 'target.plan.plugins[0].pluginId' must be a string");
  j = valid_sample();
  j["target"]["plan"]["plugins"] = json::array();
  EXPECT_EQ(gold_error(j), "heldout.jsonl:3: field 'target.plan.plugins' must not be empty");
  j = valid_sample();
  j["target"]["plan"]["plugins"].push_back(j["target"]["plan"]["plugins"][0]);
  EXPECT_EQ(gold_error(j), "heldout.jsonl:3: field 'target.plan.plugins[1].pluginId' repeats 'plugin-1'");
  j = valid_sample();
  j["target"]["plan"]["plugins"][0]["dependencies"] = {1};
  EXPECT_EQ(gold_error(j),
            "heldout.jsonl:3: field 'target.plan.plugins[0].dependencies' must be an array of "
            "pluginId strings");
  j = valid_sample();
  j["target"]["plan"]["plugins"][0].erase("api_request_parameters");
  EXPECT_EQ(gold_error(j), "heldout.jsonl:3: field 'target.plan.plugins[0].api_request_parameters' must be an object");
  j = valid_sample();
  j["target"]["plan"] = json::array();
  EXPECT_EQ(gold_error(j), "heldout.jsonl:3: field 'target.plan' must be an object");
}

TEST(PlanSample, JsonLinesRoundTrip) {
  TempDir dir;
  json a = valid_sample(), b = valid_sample();
  b["id"] = "s-2";
  b["category"] = "multi_turn";
  b["system"] = "Be brief.";
  b.erase("target");
  b["messages"] = {{{"role", "user"}, {"content", "hi"}},
                   {{"role", "assistant"}, {"content", "yes?"}},
                   {{"role", "user"}, {"content", "plan it"}}};
  auto in = dir.write("in.jsonl", a.dump() + "\n\n" + b.dump() + "\n");
  auto samples = read_samples(in);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].source, in.string() + ":1");
  EXPECT_EQ(samples[1].source, in.string() + ":3");
  write_samples(dir.path / "out.jsonl", samples);
  auto again = read_samples(dir.path / "out.jsonl");
  ASSERT_EQ(again.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(to_json(again[i]), to_json(samples[i]));
  EXPECT_EQ(to_json(samples[0]), a);
  EXPECT_EQ(to_json(samples[1]), b);
  EXPECT_FALSE(std::filesystem::exists(dir.path / ("out.jsonl.tmp." + std::to_string(::getpid()))));
}

TEST(PlanSample, FileErrorsNameFileAndLine) {
  TempDir dir;
  auto empty = dir.write("empty.jsonl", "\n\n");
  try {
    read_samples(empty);
    FAIL();
  } catch (const gt::Error& e) {
    EXPECT_EQ(std::string(e.what()), empty.string() + ": no samples (the file is empty)");
  }
  auto broken = dir.write("broken.jsonl", valid_sample().dump() + "\n{\"id\": \"s-2\",\n");
  try {
    read_samples(broken);
    FAIL();
  } catch (const gt::Error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with(broken.string() + ":2:")) << e.what();
    EXPECT_NE(std::string(e.what()).find("invalid JSON"), std::string::npos) << e.what();
  }
  auto single = dir.write("single.json", "{\n  \"id\": \"s-1\",\n  \"category\": oops\n}\n");
  try {
    read_sample(single);
    FAIL();
  } catch (const gt::Error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with(single.string() + ":3:")) << e.what();
  }
  EXPECT_THROW(read_samples(dir.path / "missing.jsonl"), gt::Error);
}

TEST(Plan, StepsOfAValidPlan) {
  auto steps = plan_steps(json::parse(R"({"plugins": [
      {"pluginId": "a", "api_request_parameters": {"x": 1}, "all_parameters_hydrated": true, "dependencies": []},
      {"pluginId": "b", "all_parameters_hydrated": "yes", "dependencies": ["a", 2]},
      {"pluginId": "c"}]})"));
  ASSERT_TRUE(steps);
  ASSERT_EQ(steps->size(), 3u);
  EXPECT_TRUE((*steps)[0].marked_hydrated);
  EXPECT_FALSE((*steps)[1].marked_hydrated);
  EXPECT_FALSE((*steps)[1].dependencies_valid);
  EXPECT_TRUE((*steps)[2].dependencies_valid);
  EXPECT_TRUE((*steps)[2].params.is_null());
  std::string why;
  EXPECT_FALSE(plan_steps(json::parse(R"({"plugins": [{"pluginId": "a"}, 5]})"), &why));
  EXPECT_EQ(why, "field 'plugins[1]' must be an object");
  EXPECT_FALSE(plan_steps(json::parse(R"({"plugin": []})"), &why));
  EXPECT_EQ(why, "field 'plugins' is missing");
}

TEST(Plan, ValueRules) {
  for (const char* p : {"<city>", "{{city}}", "your_api_key", "Your_Name", "TBD", "Todo", "xxx", "...", "STRING",
                        "placeholder", "N/A", " n/a "})
    EXPECT_TRUE(is_placeholder(p)) << p;
  for (const char* v : {"Lisbon", "a < b", "{city}", "xxxx", "TBD later", "strings", "<", "n/a/b"})
    EXPECT_FALSE(is_placeholder(v)) << v;
  EXPECT_TRUE(value_hydrated(json::parse(R"({"a": [1, false, "x"], "b": {"c": 0}})")));
  for (const char* bad : {R"("")", R"(" ")", "[]", "{}", "null", R"(["a", null])", R"({"a": {"b": ""}})",
                          R"("see www.Example.com/x")", R"(["TBD"])"})
    EXPECT_FALSE(value_hydrated(json::parse(bad))) << bad;
}

TEST(Plan, StepHydration) {
  PlanStep s{"a", {{"x", 1}}, true, {}, true};
  EXPECT_TRUE(step_hydrated(s));
  json required = {{"x", "gold"}, {"y", "gold"}};
  EXPECT_FALSE(step_hydrated(s, &required));
  s.params = json::object();
  EXPECT_TRUE(step_hydrated(s));  // no parameters at all is fine
  s.marked_hydrated = false;
  EXPECT_FALSE(step_hydrated(s));
}

TEST(Plan, DependencyCycles) {
  auto step = [](std::string id, std::vector<std::string> deps) { return PlanStep{id, {}, true, deps, true}; };
  EXPECT_FALSE(has_dependency_cycle({step("a", {}), step("b", {"a"}), step("c", {"a", "b"})}));
  EXPECT_TRUE(has_dependency_cycle({step("a", {"c"}), step("b", {"a"}), step("c", {"b"})}));
  EXPECT_TRUE(has_dependency_cycle({step("a", {"a"})}));
  EXPECT_FALSE(has_dependency_cycle({step("a", {"zzz"})}));  // not a step: not an edge
}

// Root cause C: the check recursed once per step of a chain, so a plan of 100k steps overflowed the stack.
TEST(Plan, DependencyChainsOfAnyLengthAreChecked) {
  std::vector<PlanStep> chain;
  constexpr int kSteps = 100000;
  for (int i = 0; i < kSteps; ++i)
    chain.push_back({"p" + std::to_string(i), {}, true, {i ? "p" + std::to_string(i - 1) : "none"}, true});
  EXPECT_FALSE(has_dependency_cycle(chain));
  chain.front().dependencies = {"p" + std::to_string(kSteps - 1)};
  EXPECT_TRUE(has_dependency_cycle(chain));
}
