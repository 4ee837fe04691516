#pragma once
// Reading a plan object ({"plugins": [...]}) and the §1.3 value rules. One implementation serves cleaning (§1.3),
// the reward (§2) and the eval metrics (§3), so a plan is judged the same way wherever it is judged.
//
// `dependencies` entries are pluginId strings naming other steps of the same plan (§1.3: "a dependency names a
// plugin"); §1 shows no other spelling, so anything else (a step index, an object) makes the list invalid.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gt::data {

struct PlanStep {
  std::string plugin_id;
  nlohmann::json params;         // api_request_parameters as written; null when absent
  bool marked_hydrated = false;  // all_parameters_hydrated is the boolean true
  std::vector<std::string> dependencies;
  bool dependencies_valid = true;  // false when `dependencies` is present but not an array of strings
};

// The steps of a valid plan (§2): an object with a `plugins` array whose items are objects with a string pluginId.
// Otherwise nullopt, and `why` (when given) names the offending field, prefixed with `name` (how the caller calls
// the plan, e.g. "target.plan"): "field 'target.plan.plugins[2].pluginId' must be a string".
std::optional<std::vector<PlanStep>> plan_steps(const nlohmann::json& plan, std::string* why = nullptr,
                                                std::string_view name = "");

// §1.3 placeholders, matched case-insensitively against the whole value (surrounding whitespace ignored):
// <...>, {{...}}, YOUR_..., TBD, TODO, xxx, ..., string, placeholder, N/A.
bool is_placeholder(std::string_view value);

// False when the value, or anything inside it, is empty ("", whitespace only, [], {}, null), contains example.com
// or is a placeholder.
bool value_hydrated(const nlohmann::json& value);

// A step is hydrated when it says so (all_parameters_hydrated true), its api_request_parameters is an object whose
// every value passes value_hydrated, and, when `required` is given (the gold step's parameters), every key of
// `required` is present. An object without parameters is fine: the rule is about values, not the container.
bool step_hydrated(const PlanStep& step, const nlohmann::json* required = nullptr);

// True when following dependencies from step to step can return to a step (a self-dependency counts). Steps are
// identified by pluginId; dependencies naming no step of the plan are not edges here.
bool has_dependency_cycle(const std::vector<PlanStep>& steps);

}  // namespace gt::data
