#include "data/synth.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "base/error.h"
#include "data/synth_catalog.h"
#include "data/synth_rng.h"

namespace gt::data::synth {

namespace {

using nlohmann::json;

constexpr const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};

// How often a request is drawn again when its text was already used, before giving up.
constexpr int kMaxAttempts = 1000;

bool follows(const Plugin& next, const Plugin& prev) { return &next != &prev && next.accepts(prev.makes); }

// How many steps can follow p, each using the result of the one before, up to `limit`.
std::size_t reach(const Plugin& p, const std::vector<const Plugin*>& plugins, std::size_t limit) {
  std::size_t best = 0;
  for (const Plugin* q : plugins)
    if (best < limit && follows(*q, p)) best = std::max(best, 1 + reach(*q, plugins, limit - 1));
  return best;
}

// The plugins a set is drawn from (the catalog, or the domains the options name), indexed for drawing plans.
struct Pool {
  std::vector<const Plugin*> plugins;
  std::vector<const Plugin*> standalone;       // can be asked for on their own
  std::vector<const Plugin*> starters;         // standalone, and some plugin can use what they make
  std::map<const Plugin*, std::size_t> reach;  // up to 3, the most a 4-step plan needs
};

Pool make_pool(const Options& o) {
  Pool pool;
  std::set<std::string> known;
  for (const auto& d : domains()) known.insert(d.name);
  for (const auto& name : o.domains)
    if (!known.count(name)) {
      std::string list;
      for (const auto& d : domains()) list += (list.empty() ? "" : ", ") + d.name;
      throw Error("data synth: unknown domain '" + name + "' (domains: " + list + ")");
    }
  for (const auto& p : catalog())
    if (o.domains.empty() || std::find(o.domains.begin(), o.domains.end(), p.domain) != o.domains.end())
      pool.plugins.push_back(&p);
  for (const Plugin* p : pool.plugins) {
    pool.reach[p] = reach(*p, pool.plugins, 3);
    if (p->clauses.empty()) continue;
    pool.standalone.push_back(p);
    if (pool.reach[p] > 0) pool.starters.push_back(p);
  }
  return pool;
}

// The values one request mentions, by slot. Distinct slots get distinct texts where the pools allow, so a plan
// never has two parameters that could be confused (a flight from Paris to Paris).
struct Values {
  std::map<std::string, json> by_slot;
  std::set<std::string> texts;
  std::uint64_t month = 0, day = 0;  // of the "date" slot, once drawn
};

json draw(Rng& rng, Values& vals, const std::string& name) {
  if (auto it = vals.by_slot.find(name); it != vals.by_slot.end()) return it->second;
  const Slot& s = slot(name);
  json value;
  if (name == "date" || name == "end_date") {
    if (!vals.by_slot.count("date")) {
      vals.month = rng.below(12);
      vals.day = 1 + rng.below(24);
      std::string date = std::string(kMonths[vals.month]) + " " + std::to_string(vals.day);
      vals.by_slot["date"] = date;
      vals.texts.insert(date);
    }
    if (name == "date") return vals.by_slot["date"];
    // An end date a few days after the start, in the same month (days stop at 24, so this stays valid).
    value = std::string(kMonths[vals.month]) + " " + std::to_string(vals.day + 1 + rng.below(4));
  } else {
    for (int attempt = 0; attempt < 20; ++attempt) {
      value = rng.pick(s.values);
      if (!vals.texts.count(value_text(s, value))) break;
    }
  }
  vals.by_slot[name] = value;
  vals.texts.insert(value_text(s, value));
  return value;
}

struct Step {
  Step(const Plugin* p, bool previous) : plugin(p), uses_previous(previous) {}
  const Plugin* plugin;
  bool uses_previous;  // asked for on the previous step's result, so it depends on that step
  std::string text;    // the request's words for it
  json params = json::object();
};

void fill(Rng& rng, Values& vals, Step& step) {
  const std::string& phrasing = rng.pick(step.uses_previous ? step.plugin->follow_ups : step.plugin->clauses);
  for (std::size_t i = 0; i < phrasing.size();) {
    if (phrasing[i] != '{') {
      step.text += phrasing[i++];
      continue;
    }
    std::size_t close = phrasing.find('}', i);
    std::string name = phrasing.substr(i + 1, close - i - 1);
    const std::string& slot_name = step.plugin->param(name).slot_name();
    json value = draw(rng, vals, slot_name);
    step.text += value_text(slot(slot_name), value);
    step.params[name] = std::move(value);
    i = close + 1;
  }
}

// How often each plugin is in a gold plan of the set so far.
using Usage = std::map<const Plugin*, std::size_t>;

// Of two random picks, the one used less so far. Some plugins are hubs (anything can be emailed or translated) and
// would crowd out those few others connect to; this evens the counts without fixing any order.
const Plugin* pick_plugin(Rng& rng, const std::vector<const Plugin*>& from, const Usage& usage) {
  const Plugin* a = rng.pick(from);
  const Plugin* b = rng.pick(from);
  auto count = [&](const Plugin* p) {
    auto it = usage.find(p);
    return it == usage.end() ? std::size_t{0} : it->second;
  };
  return count(b) < count(a) ? b : a;
}

bool used(const std::vector<Step>& steps, const Plugin* p) {
  return std::any_of(steps.begin(), steps.end(), [&](const Step& s) { return s.plugin == p; });
}

// The plugins of a k-step plan. Half of the multi-step plans are one chain, each step using the result of the step
// before (find a restaurant, book it, add it to the calendar, email it). In the others, after each step the next
// one uses its result 3 times in 4 when some plugin can, and is otherwise an independent request, from the first
// step's domain half of the time. A step that uses a result prefers a plugin made for it (a booking for the
// calendar) over the generic ones: senders, note takers, and for plain "text", which most lookups make, also the
// translator and the reader.
std::vector<Step> choose_steps(Rng& rng, std::size_t k, const Pool& pool, const Usage& usage) {
  std::vector<const Plugin*> long_enough;
  for (const Plugin* p : pool.starters)
    if (pool.reach.at(p) >= k - 1) long_enough.push_back(p);
  // A few domains on their own may have no chain this long; such plans are then drawn the other way.
  const bool chain = k > 1 && rng.chance(0.5) && !long_enough.empty();
  std::vector<Step> steps;
  if (chain) {
    steps.push_back({pick_plugin(rng, long_enough, usage), false});
  } else {
    const bool starter = k > 1 && rng.chance(0.8) && !pool.starters.empty();
    steps.push_back({pick_plugin(rng, starter ? pool.starters : pool.standalone, usage), false});
  }
  while (steps.size() < k) {
    const Plugin& prev = *steps.back().plugin;
    const std::size_t still_to_come = k - steps.size() - 1;
    std::vector<const Plugin*> specific, generic;
    for (const Plugin* p : pool.plugins) {
      if (!follows(*p, prev) || used(steps, p) || (chain && pool.reach.at(p) < still_to_come)) continue;
      bool made_for = prev.makes != "text" && std::find(p->takes.begin(), p->takes.end(), prev.makes) != p->takes.end();
      (made_for ? specific : generic).push_back(p);
    }
    if ((!specific.empty() || !generic.empty()) && (chain || rng.chance(0.75))) {
      bool pick_specific = !specific.empty() && (generic.empty() || rng.chance(0.65));
      steps.push_back({pick_plugin(rng, pick_specific ? specific : generic, usage), true});
      continue;
    }
    std::vector<const Plugin*> same_domain, any;
    for (const Plugin* p : pool.standalone) {
      if (used(steps, p)) continue;
      any.push_back(p);
      if (p->domain == steps.front().plugin->domain) same_domain.push_back(p);
    }
    bool pick_same = !same_domain.empty() && rng.chance(0.5);
    steps.push_back({pick_plugin(rng, pick_same ? same_domain : any, usage), false});
  }
  return steps;
}

// One request from filled steps. Steps that use the previous result are joined with "then"-like words and
// independent ones with "and"-like words; the follow-up phrasing itself also points back ("book it").
std::string compose(Rng& rng, const std::vector<Step>& steps) {
  static const std::vector<std::string> kAsk = {"Can you ", "Could you ", "Would you ", "Can you please ",
                                                "Could you please "};
  static const std::vector<std::string> kTell = {
      "", "", "Please ", "I need you to ", "I'd like you to ", "Go ahead and "};
  static const std::vector<std::string> kThen = {", then ", " and then ", ", and after that ",
                                                 ", and once that's done, "};
  static const std::vector<std::string> kThenSentence = {". Then ", ". After that, "};
  static const std::vector<std::string> kAlso = {" and ", ", and also ", " and also "};
  static const std::vector<std::string> kAlsoSentence = {". Also, ", ". Separately, "};
  static const std::vector<std::string> kGreeting = {"Hi! ", "Hey, quick one. ", "Hello. ", "Morning! "};

  const bool question = rng.chance(0.4);
  std::string text = rng.pick(question ? kAsk : kTell);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (i > 0) {
      // A question stays one sentence.
      bool sentence = !question && rng.chance(0.3);
      if (steps[i].uses_previous)
        text += rng.pick(sentence ? kThenSentence : kThen);
      else
        text += rng.pick(sentence ? kAlsoSentence : kAlso);
    }
    text += steps[i].text;
  }
  text += question ? "?" : ".";
  text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  if (rng.chance(0.15)) text = rng.pick(kGreeting) + text;
  return text;
}

std::string number_word(std::size_t n) {
  static const char* kWords[] = {"zero", "one", "two", "three", "four"};
  return n < 5 ? kWords[n] : std::to_string(n);
}

// "Finds restaurants" -> "finds restaurants"; an acronym ("UV index") keeps its case.
std::string lower_first(std::string s) {
  if (s.size() > 1 && std::islower(static_cast<unsigned char>(s[1])))
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string thinking(const std::vector<Step>& steps, const std::vector<const Plugin*>& rejected, bool multi_turn) {
  std::string t;
  if (multi_turn) t += "The earlier turns are already answered, so only the last message needs a plan. ";
  t += steps.size() == 1 ? std::string("The request needs one plugin. ")
                         : "The request needs " + number_word(steps.size()) + " plugins, in this order. ";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    t += std::to_string(i + 1) + ". " + steps[i].plugin->name + ": " + lower_first(steps[i].plugin->description);
    if (steps[i].uses_previous)
      t += ", using the result of " + steps[i - 1].plugin->name;
    else if (i > 0)
      t += ", independent of the steps before";
    t += ". ";
  }
  if (rejected.empty()) return t + "Every candidate is needed.";
  t += "Not needed: ";
  for (std::size_t i = 0; i < rejected.size(); ++i) t += (i ? ", " : "") + rejected[i]->name;
  return t + ".";
}

std::set<std::string> name_words(const std::string& name) {
  std::set<std::string> words;
  std::string w;
  for (char c : name + " ") {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    if (w.size() >= 4) words.insert(w);
    w.clear();
  }
  return words;
}

// The gold plugins, the earlier turn's plugin when there is one, then distractors: 7 in 10 from the plugins related
// to the gold ones (same domain, or a name word in common such as "Booking"), the rest from anywhere. Shuffled.
std::vector<const Plugin*> candidate_pool(Rng& rng, const std::vector<Step>& steps, const Plugin* earlier,
                                          const Pool& from_pool, std::size_t n) {
  std::vector<const Plugin*> pool;
  std::set<std::string> gold_domains, gold_words;
  for (const auto& s : steps) {
    pool.push_back(s.plugin);
    gold_domains.insert(s.plugin->domain);
    for (const auto& w : name_words(s.plugin->name)) gold_words.insert(w);
  }
  if (earlier) pool.push_back(earlier);
  std::vector<const Plugin*> related, others;
  for (const Plugin* p : from_pool.plugins) {
    if (std::find(pool.begin(), pool.end(), p) != pool.end()) continue;
    auto words = name_words(p->name);
    bool near = gold_domains.count(p->domain) ||
                std::any_of(words.begin(), words.end(), [&](const std::string& w) { return gold_words.count(w); });
    (near ? related : others).push_back(p);
  }
  while (pool.size() < n) {
    bool from_related = !related.empty() && (others.empty() || rng.chance(0.7));
    auto& from = from_related ? related : others;
    std::size_t i = rng.below(from.size());
    pool.push_back(from[i]);
    from.erase(from.begin() + static_cast<std::ptrdiff_t>(i));
  }
  rng.shuffle(pool);
  return pool;
}

json plan_step(const Step& s, const Step* previous) {
  const Plugin& p = *s.plugin;
  json deps = json::array();
  if (s.uses_previous) deps.push_back(previous->plugin->id);
  return {{"pluginId", p.id},
          {"name", p.name},
          {"description", p.description},
          {"identifier", p.identifier},
          {"method", p.method},
          {"api_request_parameters", s.params},
          {"all_parameters_hydrated", true},
          {"dependencies", deps}};
}

const Domain& domain_of(const Plugin& p) {
  const auto& ds = domains();
  return *std::find_if(ds.begin(), ds.end(), [&](const Domain& d) { return d.name == p.domain; });
}

PlanSample make_sample(Rng& rng, std::string_view category, const Options& o, const Pool& pool,
                       const Usage& usage) {
  static const std::vector<std::string> kDone = {"Done.", "All set. Anything else?", "Done! What else can I do?",
                                                 "That's taken care of.", "Okay, it's done."};
  static const std::vector<std::string> kHello = {"Hi! I have a few things to sort out today.",
                                                  "Hello, I could use some help.", "Hey, are you there?",
                                                  "Good morning! Can you help me with something?"};
  static const std::vector<std::string> kOffer = {"Of course. What do you need?", "Sure, what should I do?",
                                                  "Happy to help. What is it?", "Yes, go ahead."};
  static const std::vector<std::string> kThanks = {"", "Thanks. ", "Great, thank you. ", "Perfect. ",
                                                   "Thanks! Next one: "};

  const bool multi_turn = category == "multi_turn";
  const std::size_t k = multi_turn ? 1 + rng.below(2) : static_cast<std::size_t>(category[0] - '0');
  std::vector<Step> steps = choose_steps(rng, k, pool, usage);

  PlanSample s;
  s.category = std::string(category);
  const Plugin* earlier = nullptr;
  std::string lead_in;
  if (multi_turn) {
    switch (rng.below(3)) {
      case 0: {  // an earlier request, already answered; the new one must not plan it again
        std::vector<const Plugin*> same_domain, any;
        for (const Plugin* p : pool.standalone) {
          if (used(steps, p)) continue;
          any.push_back(p);
          if (p->domain == steps.front().plugin->domain) same_domain.push_back(p);
        }
        bool pick_same = !same_domain.empty() && rng.chance(0.6);
        earlier = rng.pick(pick_same ? same_domain : any);
        Values earlier_values;
        std::vector<Step> earlier_steps = {{earlier, false}};
        fill(rng, earlier_values, earlier_steps[0]);
        s.messages.push_back({"user", compose(rng, earlier_steps)});
        s.messages.push_back({"assistant", rng.pick(kDone)});
        lead_in = rng.pick(kThanks);
        break;
      }
      case 1:
        s.messages.push_back({"user", rng.pick(kHello)});
        s.messages.push_back({"assistant", rng.pick(kOffer)});
        break;
      default:
        s.messages.push_back({"user", "I need some help with " + domain_of(*steps.front().plugin).topic + "."});
        s.messages.push_back({"assistant", rng.pick(kOffer)});
    }
  }
  Values values;
  for (auto& step : steps) fill(rng, values, step);
  s.messages.push_back({"user", lead_in + compose(rng, steps)});

  std::vector<const Plugin*> candidates = candidate_pool(rng, steps, earlier, pool, o.num_plugins);
  std::vector<const Plugin*> rejected;
  for (const Plugin* p : candidates) {
    std::optional<json> params;
    if (o.candidate_params != CandidateParams::none)
      params = p->parameters_json(o.candidate_params == CandidateParams::full);
    s.candidates.push_back({p->id, p->name, p->description, p->identifier, p->method, params});
    if (!used(steps, p)) rejected.push_back(p);
  }
  json plugins = json::array();
  for (std::size_t i = 0; i < steps.size(); ++i) plugins.push_back(plan_step(steps[i], i ? &steps[i - 1] : nullptr));
  s.target = Target{thinking(steps, rejected, multi_turn), {{"plugins", plugins}}};
  return s;
}

void count_gold(const PlanSample& s, const Pool& pool, Usage& usage) {
  for (const auto& step : s.target->plan["plugins"])
    for (const Plugin* p : pool.plugins)
      if (p->id == step["pluginId"]) ++usage[p];
}

std::string numbered(const std::string& prefix, std::size_t n) {
  std::string digits = std::to_string(n);
  return prefix + std::string(digits.size() < 6 ? 6 - digits.size() : 0, '0') + digits;
}

}  // namespace

Sets synthesize(const Options& o) {
  if (o.num_plugins < 4)
    throw Error("data synth: num_plugins must be at least 4, the number of plugins in a 4_step plan (got " +
                std::to_string(o.num_plugins) + ")");
  const Pool pool = make_pool(o);
  const std::string source = o.domains.empty() ? "the catalog" : "the chosen domains";
  if (o.num_plugins > pool.plugins.size())
    throw Error("data synth: num_plugins must be at most " + std::to_string(pool.plugins.size()) +
                ", the number of plugins in " + source + " (got " + std::to_string(o.num_plugins) + ")");
  // A 4_step plan of independent requests needs four plugins that can be asked for on their own.
  if (pool.standalone.size() < 4)
    throw Error("data synth: " + source + " have " + std::to_string(pool.standalone.size()) +
                " plugins that can be asked for on their own; a 4_step plan needs 4");
  Sets sets;
  std::set<std::string> requests;
  auto make = [&](std::vector<PlanSample>& out, std::size_t n, Rng rng, const std::string& prefix) {
    Usage usage;
    for (std::size_t i = 0; i < n; ++i) {
      std::string_view category = kCategories[i % std::size(kCategories)];
      for (int attempt = 0;; ++attempt) {
        if (attempt == kMaxAttempts)
          throw Error("data synth: no new " + std::string(category) + " request after " + std::to_string(kMaxAttempts) +
                      " tries at " + numbered(prefix, i + 1) +
                      "; the phrasings cannot make this many distinct requests");
        PlanSample s = make_sample(rng, category, o, pool, usage);
        if (!requests.insert(s.messages.back().content).second) continue;
        s.id = numbered(prefix, i + 1);
        count_gold(s, pool, usage);
        out.push_back(std::move(s));
        break;
      }
    }
  };
  make(sets.heldout, o.heldout, Rng::stream(o.seed, 1), "heldout-");
  make(sets.train, o.train, Rng::stream(o.seed, 0), "train-");
  make(sets.dev, o.dev, Rng::stream(o.seed, 2), "dev-");
  return sets;
}

}  // namespace gt::data::synth
