#include "rl/reward.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <utility>

#include "base/error.h"
#include "base/json_file.h"
#include "rl/completion_parse.h"

namespace gt::rl {

namespace {

using nlohmann::json;

// The term names are shared by the weights file, the logged terms and the reward command's output.
constexpr std::pair<const char*, double RewardWeights::*> kWeights[] = {
    {"valid_json", &RewardWeights::valid_json}, {"in_candidates", &RewardWeights::in_candidates},
    {"recall", &RewardWeights::recall},         {"no_wrong_picks", &RewardWeights::no_wrong_picks},
    {"wrong_pick", &RewardWeights::wrong_pick}, {"exact_count", &RewardWeights::exact_count},
    {"hydration", &RewardWeights::hydration}};
constexpr const char* kMaxWrongPicks = "max_wrong_picks";

constexpr std::pair<const char*, double RewardTerms::*> kTerms[] = {
    {"valid_json", &RewardTerms::valid_json},   {"in_candidates", &RewardTerms::in_candidates},
    {"recall", &RewardTerms::recall},           {"no_wrong_picks", &RewardTerms::no_wrong_picks},
    {"wrong_picks", &RewardTerms::wrong_picks}, {"exact_count", &RewardTerms::exact_count},
    {"hydration", &RewardTerms::hydration}};

double round6(double x) { return std::round(x * 1e6) / 1e6 + 0.0; }  // + 0.0 turns -0 into 0

}  // namespace

double RewardWeights::max_reward() const {
  double best = 0;
  for (double w : {valid_json, in_candidates, recall, no_wrong_picks, exact_count, hydration}) best += std::max(w, 0.0);
  return std::min(best, 1.0);
}

json RewardWeights::to_json() const {
  json j;
  for (const auto& [name, member] : kWeights) j[name] = this->*member;
  j[kMaxWrongPicks] = max_wrong_picks;
  return j;
}

RewardWeights RewardWeights::from_json(const json& j, const std::string& source) {
  GT_CHECK(j.is_object(), source, ": reward weights must be a JSON object");
  RewardWeights w;
  for (const auto& [key, value] : j.items()) {
    if (key == kMaxWrongPicks) {
      const bool in_range = value.is_number_unsigned() ? value.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX)
                            : value.is_number_integer() && value.get<int64_t>() >= 0 && value.get<int64_t>() <= INT_MAX;
      GT_CHECK(in_range, source,
               ": reward weight '", key, "' must be an integer from 0 to ", INT_MAX, ", got ", value.dump());
      w.max_wrong_picks = value.get<int>();
      continue;
    }
    // Named again for the lambda: clang before 16 cannot capture a structured binding.
    auto it = std::find_if(std::begin(kWeights), std::end(kWeights),
                           [&wanted = key](const auto& k) { return wanted == k.first; });
    if (it == std::end(kWeights)) {
      std::string known;
      for (const auto& [name, member] : kWeights) known += std::string(name) + ", ";
      fail(source, ": unknown reward weight '", key, "' (known: ", known, kMaxWrongPicks, ")");
    }
    GT_CHECK(value.is_number(), source, ": reward weight '", key, "' must be a number");
    w.*(it->second) = value.get<double>();
  }
  GT_CHECK(w.max_reward() > 0, source, ": the reward weights leave no positive reward to earn");
  return w;
}

RewardWeights RewardWeights::load(const std::filesystem::path& path) {
  return from_json(read_json_file(path), path.string());
}

double RewardTerms::sum() const {
  double s = 0;
  for (const auto& [name, member] : kTerms) s += this->*member;
  return s;
}

json RewardTerms::to_json() const {
  json j;
  for (const auto& [name, member] : kTerms) j[name] = round6(this->*member);
  return j;
}

json PlanMetrics::to_json() const {
  auto bit = [](bool b) { return b ? 1 : 0; };
  return {{"json_valid", bit(json_valid)},   {"plugin_id_match", bit(plugin_id_match)},
          {"count_match", bit(count_match)}, {"no_hallucinate", bit(no_hallucinate)},
          {"hydrated", bit(hydrated)},       {"deps_chain", bit(deps_chain)}};
}

json Score::to_json() const {
  return {{"reward", round6(reward)}, {"terms", terms.to_json()}, {"metrics", metrics.to_json()}};
}

Reference Reference::of(const data::PlanSample& sample) {
  Reference ref;
  ref.gold = data::gold_plan(sample);
  for (const auto& c : sample.candidates) ref.candidates.insert(c.plugin_id);
  return ref;
}

Score score_completion(std::string_view completion, const Reference& ref, const RewardWeights& w) {
  Score score;
  auto plan = parse_completion(completion);
  auto parsed = plan ? data::plan_steps(*plan) : std::nullopt;
  if (!parsed) return score;
  const std::vector<data::PlanStep>& predicted = *parsed;

  std::map<std::string, const data::PlanStep*> gold;
  for (const auto& g : ref.gold) gold[g.plugin_id] = &g;
  auto in_gold = [&](const std::string& id) { return gold.count(id) > 0; };

  // §2 counts a wrong pick for every entry outside the gold set and, separately, for every repeated entry.
  std::set<std::string> picked;
  int outside_gold = 0, repeats = 0;
  bool all_candidates = true;
  for (const auto& p : predicted) {
    if (!in_gold(p.plugin_id)) ++outside_gold;
    if (!picked.insert(p.plugin_id).second) ++repeats;
    if (!ref.candidates.count(p.plugin_id)) all_candidates = false;
  }
  auto gold_found = static_cast<double>(std::count_if(picked.begin(), picked.end(), in_gold));

  // A gold plugin counts as hydrated by its first predicted step; that step must carry the gold parameter keys.
  auto first_step = [&](const std::string& id) -> const data::PlanStep* {
    auto it = std::find_if(predicted.begin(), predicted.end(), [&](const auto& p) { return p.plugin_id == id; });
    return it == predicted.end() ? nullptr : &*it;
  };
  double gold_hydrated = 0;
  for (const auto& g : ref.gold)
    if (const auto* step = first_step(g.plugin_id); step && data::step_hydrated(*step, &g.params)) ++gold_hydrated;

  const bool nonempty = !predicted.empty();
  const double gold_n = static_cast<double>(ref.gold.size());
  const bool exact_count = predicted.size() == ref.gold.size();

  RewardTerms& t = score.terms;
  t.valid_json = w.valid_json;
  t.in_candidates = nonempty && all_candidates ? w.in_candidates : 0.0;
  t.recall = w.recall * gold_found / gold_n;
  t.no_wrong_picks = nonempty && outside_gold == 0 && repeats == 0 ? w.no_wrong_picks : 0.0;
  t.wrong_picks = w.wrong_pick * std::min(outside_gold + repeats, w.max_wrong_picks);
  t.exact_count = exact_count ? w.exact_count : 0.0;
  t.hydration = w.hydration * gold_hydrated / gold_n;
  score.reward = std::clamp(t.sum(), 0.0, 1.0);

  PlanMetrics& m = score.metrics;
  m.json_valid = true;
  m.plugin_id_match = picked.size() == gold.size() && outside_gold == 0;
  m.count_match = exact_count;
  m.no_hallucinate = all_candidates;
  m.hydrated = nonempty && std::all_of(predicted.begin(), predicted.end(), [&](const auto& p) {
                 auto g = gold.find(p.plugin_id);
                 return data::step_hydrated(p, g == gold.end() ? nullptr : &g->second->params);
               });

  // Deps chain: every dependency is a pluginId of the prediction, the prediction's edges are exactly the gold
  // edges, and they form no cycle.
  std::set<std::pair<std::string, std::string>> predicted_edges, gold_edges;
  bool deps_named = true;
  for (const auto& p : predicted) {
    deps_named = deps_named && p.dependencies_valid;
    for (const auto& d : p.dependencies) {
      deps_named = deps_named && picked.count(d) > 0;
      predicted_edges.emplace(p.plugin_id, d);
    }
  }
  for (const auto& g : ref.gold)
    for (const auto& d : g.dependencies) gold_edges.emplace(g.plugin_id, d);
  m.deps_chain = deps_named && predicted_edges == gold_edges && !data::has_dependency_cycle(predicted);
  return score;
}

}  // namespace gt::rl
