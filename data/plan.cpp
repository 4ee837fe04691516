#include "data/plan.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace gt::data {

namespace {

std::string lower_trimmed(std::string_view s) {
  auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::vector<PlanStep>> plan_steps(const nlohmann::json& plan, std::string* why, std::string_view name) {
  std::string prefix = name.empty() ? std::string() : std::string(name) + ".";
  auto reject = [&](const std::string& field, const std::string& problem) -> std::optional<std::vector<PlanStep>> {
    if (why) *why = "field '" + field + "' " + problem;
    return std::nullopt;
  };
  if (!plan.is_object()) {
    if (why)
      *why = name.empty() ? "the plan must be a JSON object" : "field '" + std::string(name) + "' must be an object";
    return std::nullopt;
  }
  auto plugins = plan.find("plugins");
  if (plugins == plan.end()) return reject(prefix + "plugins", "is missing");
  if (!plugins->is_array()) return reject(prefix + "plugins", "must be an array");

  std::vector<PlanStep> steps;
  for (std::size_t i = 0; i < plugins->size(); ++i) {
    const auto& item = (*plugins)[i];
    std::string field = prefix + "plugins[" + std::to_string(i) + "]";
    if (!item.is_object()) return reject(field, "must be an object");
    auto id = item.find("pluginId");
    if (id == item.end()) return reject(field + ".pluginId", "is missing");
    if (!id->is_string()) return reject(field + ".pluginId", "must be a string");

    PlanStep step;
    step.plugin_id = id->get<std::string>();
    step.params = item.value("api_request_parameters", nlohmann::json());
    auto flag = item.find("all_parameters_hydrated");
    step.marked_hydrated = flag != item.end() && flag->is_boolean() && flag->get<bool>();
    if (auto deps = item.find("dependencies"); deps != item.end()) {
      step.dependencies_valid =
          deps->is_array() && std::all_of(deps->begin(), deps->end(), [](const auto& d) { return d.is_string(); });
      if (step.dependencies_valid)
        for (const auto& d : *deps) step.dependencies.push_back(d.get<std::string>());
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

bool is_placeholder(std::string_view value) {
  static const std::array<std::string_view, 7> kWords = {"tbd", "todo", "xxx", "...", "string", "placeholder", "n/a"};
  std::string v = lower_trimmed(value);
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') return true;
  if (v.size() >= 4 && v.starts_with("{{") && v.ends_with("}}")) return true;
  if (v.starts_with("your_")) return true;
  return std::find(kWords.begin(), kWords.end(), v) != kWords.end();
}

bool value_hydrated(const nlohmann::json& value) {
  if (value.is_null()) return false;
  if (value.is_string()) {
    std::string v = lower_trimmed(value.get_ref<const std::string&>());
    return !v.empty() && v.find("example.com") == std::string::npos && !is_placeholder(v);
  }
  if (value.is_array() || value.is_object())
    return !value.empty() && std::all_of(value.begin(), value.end(), [](const auto& v) { return value_hydrated(v); });
  return true;
}

bool step_hydrated(const PlanStep& step, const nlohmann::json* required) {
  if (!step.marked_hydrated || !step.params.is_object()) return false;
  for (const auto& [key, value] : step.params.items())
    if (!value_hydrated(value)) return false;
  if (required && required->is_object())
    for (const auto& [key, value] : required->items())
      if (!step.params.contains(key)) return false;
  return true;
}

bool has_dependency_cycle(const std::vector<PlanStep>& steps) {
  std::map<std::string, std::set<std::string>> edges;
  for (const auto& s : steps) edges[s.plugin_id];
  for (const auto& s : steps)
    for (const auto& d : s.dependencies)
      if (edges.count(d)) edges[s.plugin_id].insert(d);

  // Depth-first with an explicit stack, so a chain of 100k steps cannot overflow the call stack: a step is open
  // while its dependencies are being walked, and reaching an open step closes a cycle.
  enum class Mark { unseen, open, done };
  std::map<std::string, Mark> mark;
  using Frame = std::pair<const std::string*, std::set<std::string>::const_iterator>;
  for (const auto& [root, root_deps] : edges) {
    if (mark[root] != Mark::unseen) continue;
    std::vector<Frame> stack{{&root, root_deps.begin()}};
    mark[root] = Mark::open;
    while (!stack.empty()) {
      auto& [id, next] = stack.back();
      if (next == edges[*id].end()) {
        mark[*id] = Mark::done;
        stack.pop_back();
        continue;
      }
      const std::string& d = *next++;
      Mark& m = mark[d];
      if (m == Mark::open) return true;
      if (m == Mark::unseen) {
        m = Mark::open;
        stack.emplace_back(&d, edges[d].begin());
      }
    }
  }
  return false;
}

}  // namespace gt::data
