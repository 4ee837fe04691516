// The search space: strict parsing, the values a parameter takes, the one-change rule for proposals, and the
// mutator (exactly one parameter changes, values stay in range, on the right grid, and near the current value).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "research/space.h"
#include "support/error_message.h"
#include "support/expect_error.h"

using gt::research::ProposalError;
using gt::research::Rng;
using gt::research::SearchSpace;
using gt::testing::expect_error;
using nlohmann::json;

namespace {

const json kSpec = json::parse(R"({
  "optimizer.lr": {"type": "float", "min": 1e-5, "max": 1e-1, "scale": "log", "initial": 1e-3},
  "grad_clip": {"type": "float", "min": 0, "max": 2, "initial": 0},
  "data.num_plugins": {"type": "int", "min": 4, "max": 10, "initial": 6},
  "schedule.name": {"choices": ["none", "linear", "cosine"], "initial": "none"}
})");

SearchSpace space() { return SearchSpace::parse(kSpec, "research.json"); }

std::string parse_error(const json& spec) {
  return gt::testing::thrown_message<gt::Error>([&] { SearchSpace::parse(spec, "research.json"); });
}

}  // namespace

TEST(SearchSpace, ParsesRangesAndChoices) {
  const SearchSpace s = space();
  ASSERT_EQ(s.params().size(), 4u);
  const auto* lr = s.find("optimizer.lr");
  ASSERT_NE(lr, nullptr);
  EXPECT_TRUE(lr->log);
  EXPECT_EQ(lr->min, 1e-5);
  EXPECT_FALSE(s.find("grad_clip")->log);
  EXPECT_EQ(s.find("data.num_plugins")->kind, gt::research::Param::Kind::Int);
  EXPECT_EQ(s.find("schedule.name")->choices.size(), 3u);
  EXPECT_EQ(s.initial(), json::parse(R"({"optimizer.lr": 1e-3, "grad_clip": 0, "data.num_plugins": 6,
                                         "schedule.name": "none"})"));
  // The spec round-trips.
  EXPECT_EQ(SearchSpace::parse(s.spec(), "again.json").spec(), s.spec());
}

TEST(SearchSpace, StrictErrorsNameTheFileAndTheKey) {
  auto with = [](const char* name, const json& p) {
    json j = kSpec;
    j[name] = p;
    return j;
  };
  EXPECT_EQ(parse_error(with("x", {{"type", "float"}, {"min", 0}, {"max", 1}, {"initial", 0}, {"step", 1}})),
            "research.json: unknown key 'space.x.step'");
  EXPECT_EQ(parse_error(with("x", {{"type", "float"}, {"min", 0}, {"max", 1}, {"scale", "log"}, {"initial", 0.5}})),
            "research.json: 'space.x.min' must be > 0 for a log scale");
  EXPECT_EQ(parse_error(with("x", {{"type", "float"}, {"min", 1}, {"max", 1}, {"initial", 1}})),
            "research.json: 'space.x.max' must be greater than 'min'");
  EXPECT_EQ(parse_error(with("x", {{"type", "int"}, {"min", 0.5}, {"max", 3}, {"initial", 1}})),
            "research.json: 'space.x.min' must be an integer, got number");
  EXPECT_EQ(parse_error(with("x", {{"type", "int"}, {"min", 0}, {"max", 3}, {"initial", 4}})),
            "research.json: 'space.x.initial' must be an integer in [0, 3], got 4");
  EXPECT_EQ(parse_error(with("x", {{"type", "float"}, {"min", 0}, {"max", 3}})),
            "research.json: missing required key 'space.x.initial'");
  EXPECT_EQ(parse_error(with("x", {{"min", 0}, {"max", 3}, {"initial", 1}})),
            "research.json: 'space.x.type' is missing: give \"float\" or \"int\" with min and max, or a 'choices' "
            "list");
  EXPECT_EQ(parse_error(with("x", {{"type", "bool"}, {"initial", 1}})),
            "research.json: 'space.x.type' must be \"float\", \"int\" or \"choice\", got \"bool\"");
  EXPECT_EQ(parse_error(with("x", {{"choices", json::array({"a", "b", "a"})}, {"initial", "a"}})),
            "research.json: 'space.x.choices' lists \"a\" twice");
  EXPECT_EQ(parse_error(with("x", {{"choices", json::array({"a"})}, {"initial", "a"}})),
            "research.json: 'space.x.choices' must be an array of at least 2 values, got [\"a\"]");
  EXPECT_EQ(parse_error(with("x", {{"choices", json::array({"a", "b"})}, {"initial", "c"}})),
            "research.json: 'space.x.initial' must be one of \"a\", \"b\", got \"c\"");
  EXPECT_EQ(parse_error(with("x", {{"type", "float"}, {"min", 0}, {"max", 1}, {"scale", "exp"}, {"initial", 0}})),
            "research.json: 'space.x.scale' must be one of linear, log, got \"exp\"");
  EXPECT_EQ(parse_error(json::object()), "research.json: 'space' must name at least one parameter");
  EXPECT_EQ(parse_error(json::array()), "research.json: 'space' must be an object of parameters, got array");
}

TEST(SearchSpace, ProposalsMustChangeExactlyOneParameterWithinTheSpace) {
  const SearchSpace s = space();
  const json best = s.initial();
  // Complete and partial proposals.
  json full = best;
  full["grad_clip"] = 1;
  auto p = s.check(full, best);
  EXPECT_EQ(p.changed, "grad_clip");
  EXPECT_EQ(p.params, full);
  p = s.check({{"schedule.name", "cosine"}}, best);
  EXPECT_EQ(p.changed, "schedule.name");
  EXPECT_EQ(p.params.at("optimizer.lr"), 1e-3);
  EXPECT_EQ(p.params.at("schedule.name"), "cosine");

  auto refused = [&](const json& proposal) {
    return gt::testing::thrown_message<ProposalError>([&] { s.check(proposal, best); });
  };
  EXPECT_EQ(refused(best), "it changes no parameter of the best; a proposal changes exactly one");
  EXPECT_EQ(refused({{"grad_clip", 1}, {"data.num_plugins", 8}}),
            "it changes 2 parameters (data.num_plugins, grad_clip); a proposal changes exactly one");
  EXPECT_EQ(refused({{"optimizer.lrr", 1e-2}}),
            "unknown parameter 'optimizer.lrr' (the space has data.num_plugins, grad_clip, optimizer.lr, "
            "schedule.name)");
  EXPECT_EQ(refused({{"optimizer.lr", 0.5}}), "'optimizer.lr' must be a number in [1e-05, 0.1], got 0.5");
  EXPECT_EQ(refused({{"data.num_plugins", 7.0}}), "'data.num_plugins' must be an integer in [4, 10], got 7.0");
  EXPECT_EQ(refused({{"schedule.name", "step"}}),
            "'schedule.name' must be one of \"none\", \"linear\", \"cosine\", got \"step\"");
  EXPECT_EQ(refused(json::array({1})), "the proposal must be a JSON object of parameters, got array");
}

TEST(SearchSpace, MutateChangesExactlyOneParameterToAValidValue) {
  const SearchSpace s = space();
  std::map<std::string, int> picked;
  json current = s.initial();
  for (uint64_t i = 0; i < 2000; ++i) {
    Rng rng = Rng::stream(7, i);
    const auto p = s.mutate(current, rng);
    // The same rule the ratchet holds every proposal to.
    const auto checked = s.check(p.params, current);
    EXPECT_EQ(checked.changed, p.changed);
    ++picked[p.changed];
    const json& v = p.params.at(p.changed);
    if (p.changed == "data.num_plugins") {
      EXPECT_TRUE(v.is_number_integer());
    } else if (p.changed == "optimizer.lr" || p.changed == "grad_clip") {
      // Rounded to 3 significant digits.
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3g", v.get<double>());
      EXPECT_EQ(std::strtod(buf, nullptr), v.get<double>()) << v;
    }
    if (i % 3 == 0) current = p.params;  // wander, so mutation is tried from many points
  }
  // Every parameter is drawn (each with probability 1/4 in 2000 draws).
  EXPECT_EQ(picked.size(), 4u);
  for (const auto& [name, n] : picked) EXPECT_GT(n, 400) << name;
}

TEST(SearchSpace, MutateIsSeededAndStaysNearTheCurrentValueOnItsScale) {
  const SearchSpace s = SearchSpace::parse(
      json::parse(R"({"lr": {"type": "float", "min": 1e-6, "max": 1e-2, "scale": "log", "initial": 1e-4}})"), "f");
  Rng a = Rng::stream(3, 5), b = Rng::stream(3, 5);
  EXPECT_EQ(s.mutate(s.initial(), a).params, s.mutate(s.initial(), b).params);
  // A quarter of the range on the log scale is one decade here: every step stays within [1e-5, 1e-3].
  for (uint64_t i = 0; i < 500; ++i) {
    Rng rng = Rng::stream(1, i);
    const double v = s.mutate(s.initial(), rng).params.at("lr").get<double>();
    EXPECT_GE(v, 1e-5 * (1 - 1e-3));
    EXPECT_LE(v, 1e-3 * (1 + 1e-3));
    EXPECT_NE(v, 1e-4);
  }
}

TEST(SearchSpace, MutateFindsTheOtherValueOfATwoValueRange) {
  // From 0, a window of a quarter of [0, 1] rounds back to 0: the window widens until it reaches 1.
  const SearchSpace s =
      SearchSpace::parse(json::parse(R"({"k": {"type": "int", "min": 0, "max": 1, "initial": 0}})"), "f");
  for (uint64_t i = 0; i < 50; ++i) {
    Rng rng = Rng::stream(9, i);
    EXPECT_EQ(s.mutate(s.initial(), rng).params.at("k"), 1);
  }
}
