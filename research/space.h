#pragma once
// The AutoResearch search space (docs/spec.md §7): named parameters, each a numeric range (float or int, linear or
// log scale) or a list of choices, with an initial value. A configuration is a flat JSON object from parameter name
// to value, e.g. {"optimizer.lr": 2e-05, "schedule.name": "cosine", "data.num_plugins": 6}; what a name means is
// the trainer's business (research/trainer.h).
//
// In a config file the space is an object of parameter specs:
//   "optimizer.lr":      {"type": "float", "min": 1e-5, "max": 1e-2, "scale": "log", "initial": 2e-5}
//   "schedule.warmup_steps": {"type": "int", "min": 0, "max": 20, "initial": 0}    ("scale" defaults to linear)
//   "schedule.name":     {"choices": ["none", "linear", "cosine"], "initial": "none"}
// Reading is strict: an unknown key, a wrong type, min >= max, a log scale reaching 0, duplicate choices or an
// initial value outside the parameter is an error naming the file and the key.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "data/synth_rng.h"

namespace gt::research {

using Rng = data::synth::Rng;

// A proposal that does not fit the space or the ratchet's one-change rule. The ratchet records it as a rejected
// trial with this message as the reason.
struct ProposalError : Error {
  using Error::Error;
};

struct Param {
  enum class Kind { Float, Int, Choice };
  std::string name;
  Kind kind = Kind::Float;
  double min = 0, max = 0;  // ranges
  bool log = false;
  std::vector<nlohmann::json> choices;
  nlohmann::json initial;

  // Why `v` is not a value of this parameter, or nothing when it is. Floats take any JSON number in [min, max],
  // ints a JSON integer there, choices a value equal to one of them.
  std::optional<std::string> why_invalid(const nlohmann::json& v) const;
  // The values a trainer must accept: the bounds and the initial value of a range, every choice.
  std::vector<nlohmann::json> corner_values() const;
  nlohmann::json spec() const;  // as written in a config file
};

// The result of a proposal: the whole configuration and the one parameter in which it differs from the best.
struct Proposal {
  nlohmann::json params;
  std::string changed;
};

class SearchSpace {
 public:
  // `j` is the object of parameter specs found at `key` of `file` (errors read "file: 'space.optimizer.lr.min'
  // ..."). At least one parameter.
  static SearchSpace parse(const nlohmann::json& j, const std::string& file, const std::string& key = "space");

  const std::vector<Param>& params() const { return params_; }
  const Param* find(const std::string& name) const;
  nlohmann::json initial() const;  // every parameter at its initial value
  nlohmann::json spec() const;

  // Checks a proposal against the space and the current best: a JSON object whose keys are parameters (a key left
  // out keeps the best's value) with valid values, differing from `best` in exactly one parameter. Throws
  // ProposalError saying what is wrong.
  Proposal check(const nlohmann::json& proposal, const nlohmann::json& best) const;

  // Changes one parameter of `current`, drawn uniformly: a choice moves to another choice (uniformly); a range
  // value moves to a point drawn uniformly within a quarter of the range (on its scale) around it, widened when
  // that finds no other value. New floats are rounded to 3 significant digits, ints to the nearest integer.
  Proposal mutate(const nlohmann::json& current, Rng& rng) const;

 private:
  std::vector<Param> params_;
};

// A value as a short readable string: floats in %g style ("2e-05", "0.3"), strings unquoted.
std::string format_value(const nlohmann::json& v);

}  // namespace gt::research
