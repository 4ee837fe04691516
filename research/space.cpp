#include "research/space.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "train/config_reader.h"

namespace gt::research {

using nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string shown(const json& v) {
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

double round_significant(double x, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, x);
  return std::strtod(buf, nullptr);
}

// Position of x in the range on its scale, 0 at min and 1 at max.
double to_unit(const Param& p, double x) {
  if (p.log) return (std::log(x) - std::log(p.min)) / (std::log(p.max) - std::log(p.min));
  return (x - p.min) / (p.max - p.min);
}

double from_unit(const Param& p, double u) {
  if (p.log) return std::exp(std::log(p.min) + u * (std::log(p.max) - std::log(p.min)));
  return p.min + u * (p.max - p.min);
}

json quantize(const Param& p, double x) {
  x = std::clamp(x, p.min, p.max);
  if (p.kind == Param::Kind::Int) return static_cast<int64_t>(std::llround(x));
  return std::clamp(round_significant(x, 3), p.min, p.max);
}

// A new value near `current`: uniform in a window of +-w (on the unit scale) around it, the window doubling after
// every 8 draws that land on the current value (an int range of two values, a narrow float range).
json move_in_range(const Param& p, const json& current, Rng& rng) {
  const double u = to_unit(p, current.get<double>());
  for (int attempt = 0; attempt < 64; ++attempt) {
    const double w = std::min(1.0, 0.25 * static_cast<double>(1 << std::min(attempt / 8, 2)));
    const double lo = std::max(0.0, u - w), hi = std::min(1.0, u + w);
    const json v = quantize(p, from_unit(p, lo + rng.uniform() * (hi - lo)));
    if (v != current) return v;
  }
  fail("research: found no value of '", p.name, "' other than ", format_value(current),
       " in 64 draws; widen its range");
}

Param parse_param(const json& j, const std::string& file, const std::string& prefix, const std::string& name) {
  train::Section s(j, file, prefix);
  Param p;
  p.name = name;
  const bool is_choice = s.has("choices");
  const std::string type = s.str("type", is_choice ? "choice" : "");
  if (is_choice) {
    if (type != "choice") s.bad("type", "must be \"choice\" (or left out) when 'choices' is given");
    const json* c = s.find("choices");
    if (!c->is_array() || c->size() < 2) s.bad("choices", "must be an array of at least 2 values, got " + shown(*c));
    for (const json& v : *c) {
      if (std::find(p.choices.begin(), p.choices.end(), v) != p.choices.end())
        s.bad("choices", "lists " + v.dump() + " twice");
      p.choices.push_back(v);
    }
    p.kind = Param::Kind::Choice;
  } else {
    if (!s.has("type")) s.bad("type", "is missing: give \"float\" or \"int\" with min and max, or a 'choices' list");
    if (type == "float")
      p.kind = Param::Kind::Float;
    else if (type == "int")
      p.kind = Param::Kind::Int;
    else
      s.bad("type", "must be \"float\", \"int\" or \"choice\", got \"" + type + "\"");
    auto bound = [&](const char* k) {
      s.require(k);
      const json* v = s.find(k);
      if (p.kind == Param::Kind::Int ? !v->is_number_integer() : !v->is_number())
        s.bad(k, std::string("must be ") + (p.kind == Param::Kind::Int ? "an integer" : "a number") + ", got " +
                     train::json_type_name(*v));
      return v->get<double>();
    };
    p.min = bound("min");
    p.max = bound("max");
    if (!(p.min < p.max)) s.bad("max", "must be greater than 'min'");
    p.log = s.choice("scale", false, {{"linear", false}, {"log", true}});
    if (p.log && !(p.min > 0)) s.bad("min", "must be > 0 for a log scale");
  }
  s.require("initial");
  p.initial = *s.find("initial");
  if (auto why = p.why_invalid(p.initial)) s.bad("initial", *why);
  s.done();
  return p;
}

}  // namespace

std::string format_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v.get<double>());
    return buf;
  }
  return v.dump();
}

std::optional<std::string> Param::why_invalid(const json& v) const {
  auto range = [&] { return "[" + format_value(json(min)) + ", " + format_value(json(max)) + "]"; };
  switch (kind) {
    case Kind::Float:
      if (v.is_number() && v.get<double>() >= min && v.get<double>() <= max) return std::nullopt;
      return "must be a number in " + range() + ", got " + shown(v);
    case Kind::Int:
      if (v.is_number_integer() && v.get<double>() >= min && v.get<double>() <= max) return std::nullopt;
      return "must be an integer in " + range() + ", got " + shown(v);
    case Kind::Choice: {
      if (std::find(choices.begin(), choices.end(), v) != choices.end()) return std::nullopt;
      std::vector<std::string> names;
      for (const json& c : choices) names.push_back(c.dump());
      return "must be one of " + join(names) + ", got " + shown(v);
    }
  }
  return "?";
}

std::vector<json> Param::corner_values() const {
  if (kind == Kind::Choice) return choices;
  if (kind == Kind::Int) return {static_cast<int64_t>(min), static_cast<int64_t>(max), initial};
  return {min, max, initial};
}

json Param::spec() const {
  json j;
  if (kind == Kind::Choice) {
    j["choices"] = choices;
  } else {
    j["type"] = kind == Kind::Int ? "int" : "float";
    j["min"] = kind == Kind::Int ? json(static_cast<int64_t>(min)) : json(min);
    j["max"] = kind == Kind::Int ? json(static_cast<int64_t>(max)) : json(max);
    j["scale"] = log ? "log" : "linear";
  }
  j["initial"] = initial;
  return j;
}

SearchSpace SearchSpace::parse(const json& j, const std::string& file, const std::string& key) {
  if (!j.is_object()) fail(file, ": '", key, "' must be an object of parameters, got ", train::json_type_name(j));
  if (j.empty()) fail(file, ": '", key, "' must name at least one parameter");
  SearchSpace s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key().empty()) fail(file, ": '", key, "' has a parameter with an empty name");
    s.params_.push_back(parse_param(it.value(), file, key + "." + it.key(), it.key()));
  }
  return s;
}

const Param* SearchSpace::find(const std::string& name) const {
  for (const Param& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

json SearchSpace::initial() const {
  json j = json::object();
  for (const Param& p : params_) j[p.name] = p.initial;
  return j;
}

json SearchSpace::spec() const {
  json j = json::object();
  for (const Param& p : params_) j[p.name] = p.spec();
  return j;
}

Proposal SearchSpace::check(const json& proposal, const json& best) const {
  if (!proposal.is_object())
    throw ProposalError("the proposal must be a JSON object of parameters, got " + std::string(proposal.type_name()));
  json params = best;
  for (auto it = proposal.begin(); it != proposal.end(); ++it) {
    const Param* p = find(it.key());
    if (!p) {
      std::vector<std::string> names;
      for (const Param& q : params_) names.push_back(q.name);
      throw ProposalError("unknown parameter '" + it.key() + "' (the space has " + join(names) + ")");
    }
    if (auto why = p->why_invalid(it.value())) throw ProposalError("'" + it.key() + "' " + *why);
    params[it.key()] = it.value();
  }
  std::vector<std::string> changed;
  for (const Param& p : params_)
    if (params.at(p.name) != best.at(p.name)) changed.push_back(p.name);
  if (changed.empty()) throw ProposalError("it changes no parameter of the best; a proposal changes exactly one");
  if (changed.size() > 1)
    throw ProposalError("it changes " + std::to_string(changed.size()) + " parameters (" + join(changed) +
                        "); a proposal changes exactly one");
  return {params, changed[0]};
}

Proposal SearchSpace::mutate(const json& current, Rng& rng) const {
  const Param& p = params_[rng.below(params_.size())];
  const json& now = current.at(p.name);
  json next = current;
  if (p.kind == Param::Kind::Choice) {
    std::vector<json> others;
    for (const json& c : p.choices)
      if (c != now) others.push_back(c);
    next[p.name] = others[rng.below(others.size())];
  } else {
    next[p.name] = move_in_range(p, now, rng);
  }
  return {next, p.name};
}

}  // namespace gt::research
