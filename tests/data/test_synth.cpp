#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "base/files.h"
#include "base/json_file.h"
#include "data/clean.h"
#include "data/synth.h"
#include "data/synth_catalog.h"
#include "data/synth_rng.h"
#include "rl/reward.h"
#include "support/error_message.h"
#include "support/files.h"

using namespace gt::data;
using gt::read_json_file;
using gt::read_text_file;
using namespace gt::data::synth;
using gt::testing::TempDir;
using nlohmann::json;

namespace {

Options options(std::uint64_t seed, std::size_t train = 500, std::size_t heldout = 100) {
  Options o;
  o.seed = seed;
  o.train = train;
  o.heldout = heldout;
  return o;
}

std::string jsonl(const std::vector<PlanSample>& samples) {
  std::string out;
  for (const auto& s : samples) out += to_json(s).dump() + "\n";
  return out;
}

// Made once: the suite reads the same sets in many tests.
const Sets& sets() {
  static const Sets s = synthesize(options(11));
  return s;
}

std::vector<const PlanSample*> all_samples() {
  std::vector<const PlanSample*> out;
  for (const auto* set : {&sets().train, &sets().heldout})
    for (const auto& s : *set) out.push_back(&s);
  return out;
}

const Plugin& plugin_by_id(const std::string& id) {
  auto it = std::find_if(catalog().begin(), catalog().end(), [&](const Plugin& p) { return p.id == id; });
  EXPECT_NE(it, catalog().end()) << id;
  return *it;
}

}  // namespace

TEST(SynthCatalog, HasAtLeast150PluginsIn10DomainsWithTypedParameters) {
  EXPECT_GE(catalog().size(), 150u);
  EXPECT_GE(domains().size(), 10u);
  std::map<std::string, std::size_t> per_domain;
  std::set<std::string> ids;
  const std::regex id_shape("plugin-[0-9]{10}");
  for (const auto& p : catalog()) {
    ++per_domain[p.domain];
    EXPECT_TRUE(std::regex_match(p.id, id_shape)) << p.id;
    EXPECT_TRUE(ids.insert(p.id).second) << p.id;
    EXPECT_FALSE(p.params.empty()) << p.name;
    const json params = p.parameters_json(true);
    for (const auto& [name, spec] : params.items()) {
      EXPECT_TRUE(spec["type"] == "string" || spec["type"] == "integer" || spec["type"] == "number" ||
                  spec["type"] == "boolean")
          << p.name << "." << name;
      EXPECT_TRUE(spec["required"].is_boolean());
      EXPECT_FALSE(spec["description"].get<std::string>().empty());
    }
  }
  for (const auto& d : domains()) EXPECT_GE(per_domain[d.name], 8u) << d.name;
  EXPECT_EQ(per_domain.size(), domains().size());
  std::set<std::string> types;
  for (const auto& p : catalog())
    for (const auto& prm : p.params) types.insert(std::string(type_name(slot(prm.slot_name()).type)));
  EXPECT_EQ(types, (std::set<std::string>{"string", "integer", "number", "boolean"}));
}

TEST(SynthRng, RangesAreInBoundsAndStreamsDiffer) {
  Rng a(5), b(5);
  for (int i = 0; i < 1000; ++i) {
    std::uint64_t x = a.below(7);
    EXPECT_LT(x, 7u);
    EXPECT_EQ(x, b.below(7));
  }
  Rng s0 = Rng::stream(5, 0), s1 = Rng::stream(5, 1);
  EXPECT_NE(s0.below(1ull << 62), s1.below(1ull << 62));
}

TEST(Synth, IsDeterministicForASeedAndDiffersForAnother) {
  Sets again = synthesize(options(11));
  EXPECT_EQ(jsonl(again.train), jsonl(sets().train));
  EXPECT_EQ(jsonl(again.heldout), jsonl(sets().heldout));
  Sets other = synthesize(options(12));
  EXPECT_NE(jsonl(other.train), jsonl(sets().train));
  EXPECT_NE(jsonl(other.heldout), jsonl(sets().heldout));
}

TEST(Synth, CommandWritesByteIdenticalFilesForASeed) {
  TempDir dir;
  auto run = [&](const std::string& out, int seed) {
    auto r = gt::testing::run_gemma_tune("data synth --out " + (dir.path / out).string() +
                                         " --train 60 --heldout 20 --seed " + std::to_string(seed));
    EXPECT_EQ(r.rc, 0) << r.output;
    return r.output;
  };
  std::string printed = run("a", 3);
  run("b", 3);
  run("c", 4);
  EXPECT_NE(printed.find("train: 60 samples (1_step 12, 2_step 12, 3_step 12, 4_step 12, multi_turn 12)"),
            std::string::npos)
      << printed;
  EXPECT_NE(printed.find("heldout: 20 samples (1_step 4, 2_step 4, 3_step 4, 4_step 4, multi_turn 4)"),
            std::string::npos)
      << printed;
  for (const char* f : {"train.jsonl", "heldout.jsonl"}) {
    EXPECT_EQ(read_text_file(dir.path / "a" / f), read_text_file(dir.path / "b" / f)) << f;
    EXPECT_NE(read_text_file(dir.path / "a" / f), read_text_file(dir.path / "c" / f)) << f;
  }
  EXPECT_EQ(read_samples(dir.path / "a" / "train.jsonl").size(), 60u);
}

TEST(Synth, HeldOutDoesNotDependOnTheTrainSize) {
  EXPECT_EQ(jsonl(synthesize(options(11, 7)).heldout), jsonl(sets().heldout));
}

TEST(Synth, EveryCategoryIsPresentWithItsStepCount) {
  std::map<std::string, std::size_t> per;
  for (const auto* s : all_samples()) {
    ++per[s->category];
    std::size_t steps = s->target->plan["plugins"].size();
    if (s->category == "multi_turn") {
      EXPECT_EQ(s->messages.size(), 3u);
      EXPECT_EQ(s->messages[1].role, "assistant");
      EXPECT_TRUE(steps == 1 || steps == 2) << s->id;
    } else {
      EXPECT_EQ(s->messages.size(), 1u);
      EXPECT_EQ(steps, static_cast<std::size_t>(s->category[0] - '0')) << s->id;
    }
    EXPECT_EQ(s->messages.back().role, "user");
  }
  for (auto c : kCategories) EXPECT_EQ(per[std::string(c)], 120u) << c;
}

TEST(Synth, NoRequestIsSharedBetweenOrWithinTheSets) {
  std::set<std::string> train;
  for (const auto& s : sets().train) EXPECT_TRUE(train.insert(s.messages.back().content).second) << s.id;
  std::set<std::string> heldout;
  for (const auto& s : sets().heldout) {
    EXPECT_TRUE(heldout.insert(s.messages.back().content).second) << s.id;
    EXPECT_FALSE(train.count(s.messages.back().content)) << s.id;
  }
  EXPECT_EQ(sets().train.front().id, "train-000001");
  EXPECT_EQ(sets().heldout.back().id, "heldout-000100");
}

TEST(Synth, GoldPlansScoreTheMaximumRewardAndEveryMetric) {
  const gt::rl::RewardWeights weights;
  ASSERT_DOUBLE_EQ(weights.max_reward(), 0.95);
  for (const auto* s : all_samples()) {
    std::string completion = "<|channel>thought\n" + s->target->thinking + "<channel|>" + s->target->plan.dump();
    auto score = gt::rl::score_completion(completion, gt::rl::Reference::of(*s), weights);
    EXPECT_DOUBLE_EQ(score.reward, weights.max_reward()) << s->id << " " << score.to_json();
    const auto& m = score.metrics;
    EXPECT_TRUE(m.json_valid && m.plugin_id_match && m.count_match && m.no_hallucinate && m.hydrated && m.deps_chain)
        << s->id << " " << score.to_json();
  }
}

TEST(Synth, OutputPassesCleanUnchanged) {
  for (const auto* set : {&sets().train, &sets().heldout}) {
    std::string text = jsonl(*set);
    CleanResult r = clean_jsonl(text);
    EXPECT_TRUE(r.report.dropped.empty()) << r.report.to_json().dump();
    EXPECT_EQ(r.kept, text);
  }
  TempDir dir;
  auto r = gt::testing::run_gemma_tune("data synth --out " + dir.path.string() +
                                       " --train 100 --heldout 25 --seed 9 --num-plugins 8");
  ASSERT_EQ(r.rc, 0) << r.output;
  for (const char* f : {"train.jsonl", "heldout.jsonl"}) {
    r = gt::testing::run_gemma_tune("data clean " + (dir.path / f).string() + " --out " +
                                    (dir.path / "clean.jsonl").string() + " --report " +
                                    (dir.path / "report.json").string());
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_EQ(read_json_file(dir.path / "report.json")["dropped"], 0) << f;
    EXPECT_EQ(read_text_file(dir.path / "clean.jsonl"), read_text_file(dir.path / f)) << f;
  }
}

TEST(Synth, ParameterValuesAreTakenFromTheRequest) {
  std::size_t checked = 0;
  for (const auto* s : all_samples()) {
    const std::string& request = s->messages.back().content;
    for (const auto& step : s->target->plan["plugins"]) {
      const Plugin& p = plugin_by_id(step["pluginId"]);
      for (const auto& [name, value] : step["api_request_parameters"].items()) {
        const Slot& sl = slot(p.param(name).slot_name());
        if (value.is_boolean()) {
          EXPECT_TRUE(value.get<bool>()) << s->id;
        }
        std::string text = value_text(sl, value);
        EXPECT_NE(request.find(text), std::string::npos) << s->id << ": " << name << " = " << text << " in " << request;
        ++checked;
      }
      for (const auto& prm : p.params) {
        if (prm.required) {
          EXPECT_TRUE(step["api_request_parameters"].contains(prm.name)) << s->id << " " << prm.name;
        }
      }
    }
  }
  EXPECT_GT(checked, 1000u);
}

TEST(Synth, CandidatePoolsHoldTheGoldPluginsAndDistractors) {
  std::size_t same_domain = 0, distractors = 0, with_deps = 0, without_deps = 0;
  for (const auto* s : all_samples()) {
    ASSERT_EQ(s->candidates.size(), 6u) << s->id;
    std::set<std::string> ids, domains_of_gold;
    for (const auto& c : s->candidates) {
      EXPECT_TRUE(ids.insert(c.plugin_id).second) << s->id;
      EXPECT_FALSE(c.parameters.has_value());
    }
    std::set<std::string> gold;
    for (const auto& step : s->target->plan["plugins"]) {
      EXPECT_TRUE(ids.count(step["pluginId"])) << s->id;
      gold.insert(step["pluginId"]);
      domains_of_gold.insert(plugin_by_id(step["pluginId"]).domain);
      (step["dependencies"].empty() ? without_deps : with_deps)++;
    }
    for (const auto& c : s->candidates) {
      if (gold.count(c.plugin_id)) continue;
      ++distractors;
      if (domains_of_gold.count(plugin_by_id(c.plugin_id).domain)) ++same_domain;
      EXPECT_NE(s->target->thinking.find(c.name), std::string::npos) << s->id << " does not reject " << c.name;
    }
  }
  // Most distractors are plausible (the gold plugins' domains), and plans mix dependent and independent steps.
  EXPECT_GT(same_domain * 2, distractors);
  EXPECT_GT(with_deps, 300u);
  EXPECT_GT(without_deps, 300u);
}

TEST(Synth, TypedCandidateParametersMatchThePlans) {
  Options o = options(5, 100, 20);
  o.candidate_params = CandidateParams::typed;
  o.num_plugins = 10;
  for (const auto& s : synthesize(o).train) {
    ASSERT_EQ(s.candidates.size(), 10u);
    std::map<std::string, json> params_of;
    for (const auto& c : s.candidates) {
      ASSERT_TRUE(c.parameters.has_value());
      params_of[c.plugin_id] = *c.parameters;
    }
    for (const auto& step : s.target->plan["plugins"]) {
      const json& declared = params_of[step["pluginId"]];
      for (const auto& [name, value] : step["api_request_parameters"].items()) {
        ASSERT_TRUE(declared.contains(name)) << s.id << " " << name;
        std::string type = declared[name]["type"];
        bool ok = (type == "string" && value.is_string()) || (type == "integer" && value.is_number_integer()) ||
                  (type == "number" && value.is_number()) || (type == "boolean" && value.is_boolean());
        EXPECT_TRUE(ok) << s.id << " " << name << " is not a " << type;
        EXPECT_FALSE(declared[name].contains("description"));
      }
    }
  }
}

TEST(Synth, RejectsTooFewOrTooManyCandidates) {
  Options o = options(1, 5, 5);
  o.num_plugins = 3;
  EXPECT_THROW(synthesize(o), gt::Error);
  o.num_plugins = catalog().size() + 1;
  EXPECT_THROW(synthesize(o), gt::Error);
  auto r = gt::testing::run_gemma_tune(
      "data synth --out /nonexistent/x --train 5 --heldout 5 --seed 1 "
      "--num-plugins 3");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("num_plugins must be at least 4"), std::string::npos) << r.output;
}

TEST(Synth, DomainsRestrictEveryPlanAndCandidate) {
  for (const std::vector<std::string>& domains :
       {std::vector<std::string>{"travel", "food"}, std::vector<std::string>{"weather"}}) {
    Options o = options(5, 150, 50);
    o.domains = domains;
    const Sets s = synthesize(o);
    std::map<std::string, std::size_t> per;
    for (const auto* set : {&s.train, &s.heldout}) {
      for (const auto& sample : *set) {
        ++per[sample.category];
        for (const auto& c : sample.candidates)
          EXPECT_NE(std::find(domains.begin(), domains.end(), plugin_by_id(c.plugin_id).domain), domains.end())
              << sample.id << " " << c.name;
      }
      // Restricted sets are still valid §1.1 data: cleaning keeps every sample as it is.
      std::string text = jsonl(*set);
      CleanResult r = clean_jsonl(text);
      EXPECT_TRUE(r.report.dropped.empty()) << r.report.to_json().dump();
      EXPECT_EQ(r.kept, text);
    }
    for (auto c : kCategories) EXPECT_EQ(per[std::string(c)], 40u) << c;
    EXPECT_EQ(jsonl(synthesize(o).train), jsonl(s.train));
  }
}

TEST(Synth, RejectsUnknownDomainsAndPoolsTooSmallForTheCandidates) {
  Options o = options(1, 5, 5);
  o.domains = {"travel", "cooking"};
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] { synthesize(o); }).substr(0, 46),
            "data synth: unknown domain 'cooking' (domains:");
  o.domains = {"weather"};
  o.num_plugins = 40;
  EXPECT_NE(gt::testing::thrown_message<gt::Error>([&] { synthesize(o); })
                .find("num_plugins must be at most 10, the number of plugins in the chosen domains (got 40)"),
            std::string::npos);
  TempDir dir;
  auto r = gt::testing::run_gemma_tune("data synth --out " + dir.path.string() +
                                       " --train 10 --heldout 5 --seed 1 --domains travel,food");
  ASSERT_EQ(r.rc, 0) << r.output;
  for (const auto& sample : read_samples(dir.path / "train.jsonl"))
    for (const auto& c : sample.candidates) {
      const std::string& d = plugin_by_id(c.plugin_id).domain;
      EXPECT_TRUE(d == "travel" || d == "food") << d;
    }
}

TEST(Synth, DevSetSharesNoRequestAndLeavesTheOtherSetsAsTheyWere) {
  Options o = options(11);
  o.dev = 40;
  const Sets s = synthesize(o);
  EXPECT_EQ(jsonl(s.train), jsonl(sets().train));
  EXPECT_EQ(jsonl(s.heldout), jsonl(sets().heldout));
  ASSERT_EQ(s.dev.size(), 40u);
  EXPECT_EQ(s.dev.front().id, "dev-000001");
  std::set<std::string> others;
  for (const auto* sample : all_samples()) others.insert(sample->messages.back().content);
  for (const auto& sample : s.dev) EXPECT_FALSE(others.count(sample.messages.back().content)) << sample.id;
  EXPECT_TRUE(clean_jsonl(jsonl(s.dev)).report.dropped.empty());
}
