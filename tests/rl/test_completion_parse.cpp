#include <gtest/gtest.h>

#include "rl/completion_parse.h"

using gt::rl::parse_completion;
using nlohmann::json;

namespace {
const json kPlan = {{"plugins", json::array({{{"pluginId", "a"}}})}};
}

TEST(CompletionParse, BareObject) { EXPECT_EQ(parse_completion(kPlan.dump()), kPlan); }

TEST(CompletionParse, DropsEveryClosedThoughtBlock) {
  EXPECT_EQ(parse_completion("<|channel>thought\n{not json}<channel|>" + kPlan.dump() + "<turn|>"), kPlan);
  EXPECT_EQ(parse_completion("<think>{x}</think><think>{y}</think>" + kPlan.dump()), kPlan);
  EXPECT_EQ(parse_completion("<think>{x}</think>\n<|channel>thought\n{y}<channel|>" + kPlan.dump()), kPlan);
}

TEST(CompletionParse, UnclosedThoughtAnywhereMeansNoPlan) {
  EXPECT_FALSE(parse_completion("<|channel>thought\n" + kPlan.dump()));
  EXPECT_FALSE(parse_completion("<think>" + kPlan.dump()));
  EXPECT_FALSE(parse_completion(kPlan.dump() + "<think>more"));
  // A closer of the other kind does not close the block.
  EXPECT_FALSE(parse_completion("<think>x<channel|>" + kPlan.dump()));
}

TEST(CompletionParse, FenceBeforeTheFirstBraceIsUnwrapped) {
  EXPECT_EQ(parse_completion("Plan:\n```json\n" + kPlan.dump(2) + "\n```\nDone."), kPlan);
  EXPECT_EQ(parse_completion("```" + kPlan.dump() + "```"), kPlan);
  EXPECT_EQ(parse_completion("```json\n" + kPlan.dump()), kPlan);  // unclosed fence runs to the end
  // A fence after the object is not where the plan is.
  EXPECT_EQ(parse_completion(kPlan.dump() + "\n```\nextra\n```"), kPlan);
  // Only the fenced text counts: an object after the fence is ignored.
  EXPECT_FALSE(parse_completion("```\nno plan here\n```\n" + kPlan.dump()));
}

TEST(CompletionParse, FirstBalancedObjectIsStringAware) {
  json tricky = {{"plugins", json::array({{{"pluginId", "a}\"{"}, {"note", "\\\"}"}}})}};
  EXPECT_EQ(parse_completion("prefix " + tricky.dump() + " {\"second\": 1}"), tricky);
  EXPECT_EQ(parse_completion(R"({"a": {"b": [1, {"c": "}"}]}} tail})"),
            json::parse(R"({"a": {"b": [1, {"c": "}"}]}})"));
}

TEST(CompletionParse, FailuresGiveNothing) {
  EXPECT_FALSE(parse_completion(""));
  EXPECT_FALSE(parse_completion("no braces at all"));
  EXPECT_FALSE(parse_completion("{\"plugins\": [}"));                   // never balanced
  EXPECT_FALSE(parse_completion("{\"plugins\": [1,],}"));               // trailing commas
  EXPECT_FALSE(parse_completion("{plugins: []}"));                      // unquoted key
  EXPECT_FALSE(parse_completion("{\"a\": 1 /* note */}"));              // comments are not JSON
  EXPECT_FALSE(parse_completion("The {user} asked: " + kPlan.dump()));  // the first object is prose
}

// Root cause A: a completion nested 300k levels deep parsed, then crashed when copied. Now it is no plan.
TEST(CompletionParse, NestingBeyondTheLimitIsNoPlan) {
  std::string deep = "{\"a\":";
  deep += std::string(300000, '[') + std::string(300000, ']') + "}";
  EXPECT_FALSE(parse_completion(deep));
  EXPECT_FALSE(parse_completion("{\"n\": 1e999}"));
}

TEST(CompletionParse, ArrayAroundTheObjectIsLookedInto) {
  // The first {...} is taken, so a top-level array is not parsed whole.
  EXPECT_EQ(parse_completion(json::array({kPlan}).dump()), kPlan);
}
