// Hand-worked reward cases. Every expected number is built here from the weights, term by term, so a changed
// default weight changes the expectation with it; the gold plan is flights -> hotel -> calendar.
#include <gtest/gtest.h>

#include <algorithm>

#include "base/error.h"
#include "data/plan_sample.h"
#include "rl/reward.h"

using gt::rl::PlanMetrics;
using gt::rl::RewardTerms;
using gt::rl::RewardWeights;
using nlohmann::json;

namespace {

json step(const std::string& id, json params, json deps = json::array(), json hydrated = true) {
  return {{"pluginId", id},
          {"name", id},
          {"description", "does " + id},
          {"identifier", "rest_api"},
          {"method", "POST"},
          {"api_request_parameters", std::move(params)},
          {"all_parameters_hydrated", std::move(hydrated)},
          {"dependencies", std::move(deps)}};
}

const json kFlights = {{"origin", "Berlin"}, {"destination", "Lisbon"}, {"date", "2025-06-01"}};
const json kHotel = {{"city", "Lisbon"}, {"nights", 3}};
const json kCalendar = {{"title", "Lisbon trip"}, {"attendees", {"anna", "ben"}}};

json flights() { return step("flights", kFlights); }
json hotel() { return step("hotel", kHotel, {"flights"}); }
json calendar() { return step("calendar", kCalendar, {"hotel"}); }
std::vector<json> gold() { return {flights(), hotel(), calendar()}; }

gt::data::PlanSample make_sample() {
  json candidates = json::array();
  for (const char* id : {"flights", "hotel", "calendar", "weather", "email", "translate"})
    candidates.push_back(
        {{"pluginId", id}, {"name", id}, {"description", "d"}, {"identifier", "rest_api"}, {"method", "POST"}});
  json j = {{"id", "t-1"},
            {"category", "3_step"},
            {"candidates", candidates},
            {"messages", {{{"role", "user"}, {"content", "Fly me to Lisbon, book a hotel, add it to my calendar"}}}},
            {"target", {{"thinking", "flight, hotel, calendar"}, {"plan", {{"plugins", gold()}}}}}};
  return gt::data::sample_from_json(j, "test");
}

std::string plan_text(const std::vector<json>& steps) { return json{{"plugins", steps}}.dump(); }
std::string completion(const std::vector<json>& steps) {
  return "<|channel>thought\nFlight first, then the hotel, then the calendar.<channel|>" + plan_text(steps) + "<turn|>";
}

const RewardWeights W;

RewardTerms perfect_terms(const RewardWeights& w = W) {
  return {.valid_json = w.valid_json,
          .in_candidates = w.in_candidates,
          .recall = w.recall,
          .no_wrong_picks = w.no_wrong_picks,
          .wrong_picks = 0,
          .exact_count = w.exact_count,
          .hydration = w.hydration};
}
const PlanMetrics kAllMetrics{.json_valid = true,
                              .plugin_id_match = true,
                              .count_match = true,
                              .no_hallucinate = true,
                              .hydrated = true,
                              .deps_chain = true};
const PlanMetrics kNoMetrics{};

class Reward : public ::testing::Test {
 protected:
  gt::rl::Reference ref = gt::rl::Reference::of(make_sample());

  void check(const std::string& text, const RewardTerms& t, const PlanMetrics& m, const RewardWeights& w = W) {
    SCOPED_TRACE(text);
    gt::rl::Score s = gt::rl::score_completion(text, ref, w);
    EXPECT_NEAR(s.terms.valid_json, t.valid_json, 1e-12);
    EXPECT_NEAR(s.terms.in_candidates, t.in_candidates, 1e-12);
    EXPECT_NEAR(s.terms.recall, t.recall, 1e-12);
    EXPECT_NEAR(s.terms.no_wrong_picks, t.no_wrong_picks, 1e-12);
    EXPECT_NEAR(s.terms.wrong_picks, t.wrong_picks, 1e-12);
    EXPECT_NEAR(s.terms.exact_count, t.exact_count, 1e-12);
    EXPECT_NEAR(s.terms.hydration, t.hydration, 1e-12);
    EXPECT_NEAR(s.reward, std::clamp(t.sum(), 0.0, 1.0), 1e-12);
    EXPECT_EQ(s.metrics.json_valid, m.json_valid);
    EXPECT_EQ(s.metrics.plugin_id_match, m.plugin_id_match);
    EXPECT_EQ(s.metrics.count_match, m.count_match);
    EXPECT_EQ(s.metrics.no_hallucinate, m.no_hallucinate);
    EXPECT_EQ(s.metrics.hydrated, m.hydrated);
    EXPECT_EQ(s.metrics.deps_chain, m.deps_chain);
  }
};

// One gold plugin of three loses its hydration credit; nothing else changes.
RewardTerms one_unhydrated() {
  RewardTerms t = perfect_terms();
  t.hydration = W.hydration * 2 / 3;
  return t;
}
PlanMetrics all_but_hydrated() {
  PlanMetrics m = kAllMetrics;
  m.hydrated = false;
  return m;
}
PlanMetrics all_but_deps() {
  PlanMetrics m = kAllMetrics;
  m.deps_chain = false;
  return m;
}

}  // namespace

TEST_F(Reward, PerfectPlanEarnsThePublishedMaximum) {
  check(completion(gold()), perfect_terms(), kAllMetrics);
  EXPECT_NEAR(perfect_terms().sum(), 0.95, 1e-12);
  EXPECT_NEAR(W.max_reward(), 0.95, 1e-12);
}

TEST_F(Reward, ThinkTagsAndStepOrderDoNotMatter) {
  check("<think>reasoning with {braces}</think>\n" + plan_text({calendar(), flights(), hotel()}), perfect_terms(),
        kAllMetrics);
}

TEST_F(Reward, InvalidJsonScoresZero) {
  std::string text = completion(gold());
  std::size_t end = text.rfind("]}");
  check(text.substr(0, end) + ",]}<turn|>", {}, kNoMetrics);  // a trailing comma: not strict JSON
}

TEST_F(Reward, UnclosedThoughtMeansNoPlan) {
  check("<|channel>thought\nStill thinking... " + plan_text(gold()), {}, kNoMetrics);
  check("<think>Still thinking... " + plan_text(gold()), {}, kNoMetrics);
}

TEST_F(Reward, FencedJsonIsUnwrapped) {
  check("<think>ok</think>Here is the plan:\n```json\n" + json{{"plugins", gold()}}.dump(2) + "\n```\n",
        perfect_terms(), kAllMetrics);
}

TEST_F(Reward, TrailingTextAfterTheObjectIsIgnored) {
  check(completion(gold()) + "\nHope this helps! {\"plugins\": []}", perfect_terms(), kAllMetrics);
}

TEST_F(Reward, BracesAndQuotesInsideStringsDoNotEndTheObject) {
  std::vector<json> steps = gold();
  steps[2]["api_request_parameters"]["title"] = "Trip } to \"{ Lisbon";
  check(completion(steps), perfect_terms(), kAllMetrics);
}

TEST_F(Reward, JsonThatIsNotAPlanScoresZero) {
  check(json{{"steps", gold()}}.dump(), {}, kNoMetrics);
  std::vector<json> steps = gold();
  steps[1]["pluginId"] = 7;
  check(completion(steps), {}, kNoMetrics);
  steps[1].erase("pluginId");
  check(completion(steps), {}, kNoMetrics);
}

TEST_F(Reward, EmptyPlanEarnsOnlyValidJson) {
  // An empty plan picks nothing outside the candidates, so No-hallucinate holds; nothing else does.
  check(completion({}), {.valid_json = W.valid_json}, {.json_valid = true, .no_hallucinate = true});
}

TEST_F(Reward, DuplicatePickIsAWrongPick) {
  check(completion({flights(), hotel(), hotel(), calendar()}),
        {.valid_json = W.valid_json,
         .in_candidates = W.in_candidates,
         .recall = W.recall,
         .no_wrong_picks = 0,
         .wrong_picks = W.wrong_pick,
         .exact_count = 0,
         .hydration = W.hydration},
        {.json_valid = true,
         .plugin_id_match = true,
         .count_match = false,
         .no_hallucinate = true,
         .hydrated = true,
         .deps_chain = true});
}

TEST_F(Reward, RepeatedPickOutsideGoldCountsOnceAsOutsideAndOnceAsRepeat) {
  // §2: "entries of P not in G, plus duplicates": two "email" entries are 2 outside gold + 1 repeat = 3.
  check(completion(
            {flights(), hotel(), calendar(), step("email", {{"to", "a@b.de"}}), step("email", {{"to", "a@b.de"}})}),
        {.valid_json = W.valid_json,
         .in_candidates = W.in_candidates,
         .recall = W.recall,
         .wrong_picks = 3 * W.wrong_pick,
         .hydration = W.hydration},
        {.json_valid = true, .no_hallucinate = true, .hydrated = true, .deps_chain = true});
}

TEST_F(Reward, HallucinatedPluginLosesCandidatesAndNoWrongPicks) {
  check(completion({flights(), hotel(), calendar(), step("taxi", {{"pickup", "Lisbon airport"}})}),
        {.valid_json = W.valid_json,
         .in_candidates = 0,
         .recall = W.recall,
         .no_wrong_picks = 0,
         .wrong_picks = W.wrong_pick,
         .exact_count = 0,
         .hydration = W.hydration},
        {.json_valid = true,
         .plugin_id_match = false,
         .count_match = false,
         .no_hallucinate = false,
         .hydrated = true,
         .deps_chain = true});
}

TEST_F(Reward, ExtraCandidatePluginIsAWrongPick) {
  check(completion({flights(), hotel(), calendar(), step("weather", {{"city", "Lisbon"}})}),
        {.valid_json = W.valid_json,
         .in_candidates = W.in_candidates,
         .recall = W.recall,
         .no_wrong_picks = 0,
         .wrong_picks = W.wrong_pick,
         .exact_count = 0,
         .hydration = W.hydration},
        {.json_valid = true,
         .plugin_id_match = false,
         .count_match = false,
         .no_hallucinate = true,
         .hydrated = true,
         .deps_chain = true});
}

TEST_F(Reward, MissingPluginCostsRecallCountAndHydration) {
  // The gold edge calendar -> hotel has no counterpart, so the chain fails too.
  check(completion({flights(), hotel()}),
        {.valid_json = W.valid_json,
         .in_candidates = W.in_candidates,
         .recall = W.recall * 2 / 3,
         .no_wrong_picks = W.no_wrong_picks,
         .wrong_picks = 0,
         .exact_count = 0,
         .hydration = W.hydration * 2 / 3},
        {.json_valid = true,
         .plugin_id_match = false,
         .count_match = false,
         .no_hallucinate = true,
         .hydrated = true,
         .deps_chain = false});
}

TEST_F(Reward, SwappedPluginKeepsTheCountOnly) {
  check(completion({flights(), hotel(), step("email", {{"to", "anna@studio.it"}}, {"hotel"})}),
        {.valid_json = W.valid_json,
         .in_candidates = W.in_candidates,
         .recall = W.recall * 2 / 3,
         .no_wrong_picks = 0,
         .wrong_picks = W.wrong_pick,
         .exact_count = W.exact_count,
         .hydration = W.hydration * 2 / 3},
        {.json_valid = true,
         .plugin_id_match = false,
         .count_match = true,
         .no_hallucinate = true,
         .hydrated = true,
         .deps_chain = false});
}

TEST_F(Reward, ManyWrongPicksClampAtZeroAndTheirPenaltyIsCapped) {
  std::vector<json> steps;
  for (const char* id : {"taxi", "bus", "boat", "plane"}) steps.push_back(step(id, {{"to", "Lisbon"}}));
  RewardTerms t{.valid_json = W.valid_json, .wrong_picks = W.max_wrong_picks * W.wrong_pick};
  ASSERT_LT(t.sum(), 0.0);
  check(completion(steps), t, {.json_valid = true, .hydrated = true});
  EXPECT_EQ(gt::rl::score_completion(completion(steps), ref, W).reward, 0.0);
}

TEST_F(Reward, WrongDependencyOnlyBreaksTheChain) {
  std::vector<json> steps = gold();
  steps[2]["dependencies"] = {"flights"};
  check(completion(steps), perfect_terms(), all_but_deps());
}

TEST_F(Reward, DependencyOnAPluginOutsideThePlanBreaksTheChain) {
  std::vector<json> steps = gold();
  steps[2]["dependencies"] = {"hotel", "weather"};
  check(completion(steps), perfect_terms(), all_but_deps());
}

TEST_F(Reward, CyclicDependenciesBreakTheChain) {
  std::vector<json> steps = gold();
  steps[0]["dependencies"] = {"calendar"};
  check(completion(steps), perfect_terms(), all_but_deps());
  steps = gold();
  steps[0]["dependencies"] = {"flights"};
  check(completion(steps), perfect_terms(), all_but_deps());
}

TEST_F(Reward, DependenciesMustBePluginIdStrings) {
  std::vector<json> steps = gold();
  steps[1]["dependencies"] = {0};  // a step index is not a spelling §1 uses
  check(completion(steps), perfect_terms(), all_but_deps());
  steps[1]["dependencies"] = "flights";
  check(completion(steps), perfect_terms(), all_but_deps());
}

TEST_F(Reward, AbsentDependenciesMeanNone) {
  std::vector<json> steps = gold();
  steps[0].erase("dependencies");
  check(completion(steps), perfect_terms(), kAllMetrics);
}

TEST_F(Reward, PlaceholdersAreNotHydrated) {
  for (const char* p : {"<number of nights>", "{{nights}}", "YOUR_NIGHTS", "TBD", "todo", "XXX", "...", "String",
                        "placeholder", "n/a", "  tbd  "}) {
    std::vector<json> steps = gold();
    steps[1]["api_request_parameters"]["nights"] = p;
    check(completion(steps), one_unhydrated(), all_but_hydrated());
  }
}

TEST_F(Reward, WordsThatMerelyContainAPlaceholderAreHydrated) {
  std::vector<json> steps = gold();
  steps[2]["api_request_parameters"]["title"] = "TBD meeting about the string quartet";
  check(completion(steps), perfect_terms(), kAllMetrics);
}

TEST_F(Reward, ExampleDotComIsNotHydratedAtAnyDepth) {
  for (json v : {json("anna@example.com"), json::array({"https://EXAMPLE.COM/invite"}),
                 json{{"anna", {{"mail", "a@example.com"}}}}}) {
    std::vector<json> steps = gold();
    steps[2]["api_request_parameters"]["attendees"] = v;
    check(completion(steps), one_unhydrated(), all_but_hydrated());
  }
}

TEST_F(Reward, EmptyValuesAreNotHydrated) {
  for (json v : {json(""), json("   "), json::array(), json::object(), json(nullptr), json{"anna", ""},
                 json{{"who", json::array()}}}) {
    std::vector<json> steps = gold();
    steps[2]["api_request_parameters"]["attendees"] = v;
    check(completion(steps), one_unhydrated(), all_but_hydrated());
  }
}

TEST_F(Reward, MissingGoldParameterKeyIsNotHydratedButAnExtraKeyIs) {
  std::vector<json> steps = gold();
  steps[1]["api_request_parameters"].erase("nights");
  check(completion(steps), one_unhydrated(), all_but_hydrated());
  steps = gold();
  steps[1]["api_request_parameters"]["breakfast"] = true;
  check(completion(steps), perfect_terms(), kAllMetrics);
}

TEST_F(Reward, HydratedFlagMustBeTrue) {
  for (json flag : {json(false), json("true"), json(1)}) {
    std::vector<json> steps = gold();
    steps[0]["all_parameters_hydrated"] = flag;
    check(completion(steps), one_unhydrated(), all_but_hydrated());
  }
  std::vector<json> steps = gold();
  steps[0].erase("api_request_parameters");
  check(completion(steps), one_unhydrated(), all_but_hydrated());
}

TEST_F(Reward, UnhydratedPluginOutsideGoldFailsTheMetricOnly) {
  // The reward's hydration term counts gold plugins; the metric asks it of every predicted plugin.
  check(completion({flights(), hotel(), calendar(), step("weather", {{"city", "TBD"}})}),
        {.valid_json = W.valid_json,
         .in_candidates = W.in_candidates,
         .recall = W.recall,
         .wrong_picks = W.wrong_pick,
         .hydration = W.hydration},
        {.json_valid = true, .no_hallucinate = true, .deps_chain = true});
}

TEST_F(Reward, FirstOccurrenceOfAGoldPluginCarriesItsHydration) {
  std::vector<json> steps = {flights(), step("hotel", {{"city", "TBD"}}, {"flights"}), hotel(), calendar()};
  check(completion(steps),
        {.valid_json = W.valid_json,
         .in_candidates = W.in_candidates,
         .recall = W.recall,
         .wrong_picks = W.wrong_pick,
         .hydration = W.hydration * 2 / 3},
        {.json_valid = true, .plugin_id_match = true, .no_hallucinate = true, .deps_chain = true});
}

TEST_F(Reward, WeightsFromConfigurationChangeEveryTerm) {
  RewardWeights w = RewardWeights::from_json(
      {{"valid_json", 0.05}, {"recall", 0.2}, {"wrong_pick", -0.05}, {"max_wrong_picks", 1}}, "w.json");
  EXPECT_NEAR(w.max_reward(), 0.05 + W.in_candidates + 0.2 + W.no_wrong_picks + W.exact_count + W.hydration, 1e-12);
  // Two wrong picks, but the cap is one.
  check(completion({flights(), step("taxi", {{"to", "x"}}), step("bus", {{"to", "y"}})}),
        {.valid_json = w.valid_json,
         .recall = w.recall / 3,
         .wrong_picks = w.wrong_pick,
         .exact_count = w.exact_count,
         .hydration = w.hydration / 3},
        {.json_valid = true, .count_match = true, .hydrated = true}, w);
}

TEST_F(Reward, SumAboveOneClampsToOne) {
  RewardWeights w = RewardWeights::from_json({{"valid_json", 0.5},
                                              {"in_candidates", 0.5},
                                              {"recall", 0.5},
                                              {"no_wrong_picks", 0.5},
                                              {"exact_count", 0.5},
                                              {"hydration", 0.5}},
                                             "w.json");
  EXPECT_EQ(w.max_reward(), 1.0);
  check(completion(gold()), perfect_terms(w), kAllMetrics, w);
  EXPECT_EQ(gt::rl::score_completion(completion(gold()), ref, w).reward, 1.0);
}

TEST(RewardWeights, UnknownKeyIsAnErrorNamingKeyAndFile) {
  try {
    RewardWeights::from_json({{"recall", 0.3}, {"recal", 0.3}}, "conf/weights.json");
    FAIL() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("conf/weights.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'recal'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(RewardWeights::from_json({{"recall", "0.3"}}, "w.json"), gt::Error);
  EXPECT_THROW(RewardWeights::from_json({{"max_wrong_picks", 1.5}}, "w.json"), gt::Error);
  EXPECT_THROW(RewardWeights::from_json(json::array(), "w.json"), gt::Error);
}

// Issue 19: 99999999999 was truncated to an int without a word.
TEST(RewardWeights, CountsOutOfRangeAreErrorsNotTruncated) {
  try {
    RewardWeights::from_json({{"max_wrong_picks", 99999999999}}, "w.json");
    FAIL() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_STREQ(e.what(),
                 "w.json: reward weight 'max_wrong_picks' must be an integer from 0 to 2147483647, got 99999999999");
  }
  EXPECT_THROW(RewardWeights::from_json({{"max_wrong_picks", -1}}, "w.json"), gt::Error);
}

TEST(RewardWeights, JsonRoundTripKeepsEveryWeight) {
  RewardWeights w;
  w.hydration = 0.3;
  w.max_wrong_picks = 5;
  RewardWeights back = RewardWeights::from_json(w.to_json(), "round-trip");
  EXPECT_EQ(back.hydration, 0.3);
  EXPECT_EQ(back.max_wrong_picks, 5);
  EXPECT_EQ(back.to_json(), w.to_json());
}

TEST(RewardReference, SampleWithoutGoldPlanIsAnErrorNamingItsSource) {
  gt::data::PlanSample s = make_sample();
  s.source = "heldout.jsonl:12";
  s.target.reset();
  try {
    gt::rl::Reference::of(s);
    FAIL() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("heldout.jsonl:12"), std::string::npos) << e.what();
  }
}
