#include "data/plan_sample.h"

#include <algorithm>
#include <set>

#include "base/files.h"
#include "base/json_file.h"

namespace gt::data {

namespace {

using nlohmann::json;

// Reads fields of one sample; every failure names the source and the full field path.
struct FieldReader {
  const std::string& source;

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(source + ": field '" + field + "' " + problem);
  }
  const json& require(const json& obj, const std::string& key, const std::string& field) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(field, "is missing");
    return *it;
  }
  std::string string(const json& obj, const std::string& key, const std::string& prefix = "") const {
    const json& v = require(obj, key, prefix + key);
    if (!v.is_string()) fail(prefix + key, "must be a string");
    return v.get<std::string>();
  }
  const json& array(const json& obj, const std::string& key) const {
    const json& v = require(obj, key, key);
    if (!v.is_array()) fail(key, "must be an array");
    return v;
  }
  void object(const json& v, const std::string& field) const {
    if (!v.is_object()) fail(field, "must be an object");
  }
};

std::string category_list() {
  std::string out;
  for (auto c : kCategories) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

}  // namespace

PlanSample sample_from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw Error(source + ": a sample must be a JSON object");
  FieldReader r{source};
  PlanSample s;
  s.source = source;

  s.id = r.string(j, "id");
  if (s.id.empty()) r.fail("id", "must not be empty");
  s.category = r.string(j, "category");
  if (std::find(std::begin(kCategories), std::end(kCategories), s.category) == std::end(kCategories))
    r.fail("category", "must be one of " + category_list());
  if (j.contains("system")) s.system = r.string(j, "system");

  const json& candidates = r.array(j, "candidates");
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    std::string p = "candidates[" + std::to_string(i) + "]";
    const json& c = candidates[i];
    r.object(c, p);
    p += ".";
    Candidate cand{r.string(c, "pluginId", p),   r.string(c, "name", p),   r.string(c, "description", p),
                   r.string(c, "identifier", p), r.string(c, "method", p), std::nullopt};
    if (auto params = c.find("parameters"); params != c.end()) {
      r.object(*params, p + "parameters");
      cand.parameters = *params;
    }
    s.candidates.push_back(std::move(cand));
  }

  const json& messages = r.array(j, "messages");
  if (messages.empty()) r.fail("messages", "must not be empty");
  for (std::size_t i = 0; i < messages.size(); ++i) {
    std::string p = "messages[" + std::to_string(i) + "]";
    r.object(messages[i], p);
    p += ".";
    Message m{r.string(messages[i], "role", p), r.string(messages[i], "content", p)};
    if (m.role != "user" && m.role != "assistant") r.fail(p + "role", "must be \"user\" or \"assistant\"");
    s.messages.push_back(std::move(m));
  }
  if (s.messages.back().role != "user")
    r.fail("messages[" + std::to_string(messages.size() - 1) + "].role",
           "must be \"user\": the plan answers the last user turn");

  if (auto t = j.find("target"); t != j.end()) {
    r.object(*t, "target");
    s.target = Target{r.string(*t, "thinking", "target."), r.require(*t, "plan", "target.plan")};
  }
  return s;
}

json to_json(const PlanSample& s) {
  json j = {{"id", s.id}, {"category", s.category}};
  if (s.system) j["system"] = *s.system;
  json candidates = json::array();
  for (const auto& c : s.candidates) {
    json cj = {{"pluginId", c.plugin_id},
               {"name", c.name},
               {"description", c.description},
               {"identifier", c.identifier},
               {"method", c.method}};
    if (c.parameters) cj["parameters"] = *c.parameters;
    candidates.push_back(std::move(cj));
  }
  j["candidates"] = std::move(candidates);
  json messages = json::array();
  for (const auto& m : s.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  j["messages"] = std::move(messages);
  if (s.target) j["target"] = {{"thinking", s.target->thinking}, {"plan", s.target->plan}};
  return j;
}

std::vector<PlanSample> read_samples(const std::filesystem::path& jsonl) {
  std::vector<PlanSample> samples;
  for_each_jsonl(jsonl, [&](const json& v, std::size_t line) {
    samples.push_back(sample_from_json(v, jsonl.string() + ":" + std::to_string(line)));
  });
  if (samples.empty()) throw Error(jsonl.string() + ": no samples (the file is empty)");
  return samples;
}

PlanSample read_sample(const std::filesystem::path& json_file) {
  return sample_from_json(read_json_file(json_file), json_file.string());
}

void write_samples(const std::filesystem::path& jsonl, const std::vector<PlanSample>& samples) {
  std::string out;
  for (const auto& s : samples) out += to_json(s).dump() + "\n";
  write_file_atomically(jsonl, out);
}

std::vector<PlanStep> gold_plan(const PlanSample& s) {
  if (!s.target) throw Error(s.source + ": sample '" + s.id + "' has no target; scoring needs its gold plan");
  FieldReader r{s.source};
  std::string why;
  auto steps = plan_steps(s.target->plan, &why, "target.plan");
  if (!steps) throw Error(s.source + ": " + why);
  if (steps->empty()) r.fail("target.plan.plugins", "must not be empty");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const PlanStep& step = (*steps)[i];
    std::string p = "target.plan.plugins[" + std::to_string(i) + "].";
    if (!seen.insert(step.plugin_id).second) r.fail(p + "pluginId", "repeats '" + step.plugin_id + "'");
    if (!step.params.is_object()) r.fail(p + "api_request_parameters", "must be an object");
    if (!step.dependencies_valid) r.fail(p + "dependencies", "must be an array of pluginId strings");
  }
  return *steps;
}

}  // namespace gt::data
