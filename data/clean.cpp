#include "data/clean.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>

#include "base/files.h"
#include "base/json_file.h"
#include "data/plan.h"

namespace gt::data {

namespace {

using nlohmann::json;

struct StepKey {
  const char* key;
  bool (*ok)(const json&);
  const char* what;
};

// The eight keys every step of a plan carries (§1.1), with the JSON type each must have.
constexpr StepKey kStepKeys[] = {
    {"pluginId", +[](const json& v) { return v.is_string(); }, "a string"},
    {"name", +[](const json& v) { return v.is_string(); }, "a string"},
    {"description", +[](const json& v) { return v.is_string(); }, "a string"},
    {"identifier", +[](const json& v) { return v.is_string(); }, "a string"},
    {"method", +[](const json& v) { return v.is_string(); }, "a string"},
    {"api_request_parameters", +[](const json& v) { return v.is_object(); }, "an object"},
    {"all_parameters_hydrated", +[](const json& v) { return v.is_boolean(); }, "a boolean"},
    {"dependencies",
     +[](const json& v) {
       return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& d) { return d.is_string(); });
     },
     "an array of pluginId strings"},
};

std::string step_field(std::size_t i) { return "target.plan.plugins[" + std::to_string(i) + "]"; }

std::optional<std::string> plan_shape_problem(const json& plan) {
  auto field = [](const std::string& f, const std::string& problem) {
    return std::optional<std::string>("field '" + f + "' " + problem);
  };
  if (!plan.is_object()) return field("target.plan", "must be an object");
  auto plugins = plan.find("plugins");
  if (plugins == plan.end()) return field("target.plan.plugins", "is missing");
  if (!plugins->is_array()) return field("target.plan.plugins", "must be an array");
  if (plugins->empty()) return field("target.plan.plugins", "must not be empty");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < plugins->size(); ++i) {
    const json& step = (*plugins)[i];
    if (!step.is_object()) return field(step_field(i), "must be an object");
    for (const auto& k : kStepKeys) {
      auto v = step.find(k.key);
      if (v == step.end()) return field(step_field(i) + "." + k.key, "is missing");
      if (!k.ok(*v)) return field(step_field(i) + "." + k.key, std::string("must be ") + k.what);
    }
    const std::string& id = step["pluginId"].get_ref<const std::string&>();
    if (!ids.insert(id).second) return field(step_field(i) + ".pluginId", "repeats '" + id + "'");
  }
  return std::nullopt;
}

std::string shortened(std::string s) { return s.size() <= 80 ? s : s.substr(0, 77) + "..."; }

std::string normalized(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(u));
  }
  return out;
}

bool blank(std::string_view text) { return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) return true;  // both exist: hard and symbolic links count
  return std::filesystem::weakly_canonical(std::filesystem::absolute(a)) ==
         std::filesystem::weakly_canonical(std::filesystem::absolute(b));
}

}  // namespace

std::string_view reason_name(DropReason r) {
  switch (r) {
    case DropReason::unparseable:
      return "unparseable";
    case DropReason::no_target:
      return "no_target";
    case DropReason::plan_shape:
      return "plan_shape";
    case DropReason::empty_thinking:
      return "empty_thinking";
    case DropReason::unknown_plugin:
      return "unknown_plugin";
    case DropReason::missing_dependency:
      return "missing_dependency";
    case DropReason::dependency_cycle:
      return "dependency_cycle";
    case DropReason::unhydrated_value:
      return "unhydrated_value";
    case DropReason::not_marked_hydrated:
      return "not_marked_hydrated";
    case DropReason::duplicate:
      return "duplicate";
  }
  return "?";
}

std::optional<Violation> check_sample(const PlanSample& s) {
  if (!s.target) return Violation{DropReason::no_target, "the sample has no target (thinking and plan)"};
  if (auto problem = plan_shape_problem(s.target->plan)) return Violation{DropReason::plan_shape, *problem};
  if (blank(s.target->thinking)) return Violation{DropReason::empty_thinking, "target.thinking is empty"};

  const std::vector<PlanStep> steps = *plan_steps(s.target->plan);
  std::set<std::string> candidates, planned;
  for (const auto& c : s.candidates) candidates.insert(c.plugin_id);
  for (const auto& step : steps) planned.insert(step.plugin_id);

  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!candidates.count(steps[i].plugin_id))
      return Violation{DropReason::unknown_plugin,
                       step_field(i) + ".pluginId '" + steps[i].plugin_id + "' is not among the candidates"};
  for (std::size_t i = 0; i < steps.size(); ++i)
    for (const auto& d : steps[i].dependencies)
      if (!planned.count(d))
        return Violation{DropReason::missing_dependency,
                         step_field(i) + ".dependencies names '" + d + "', which is not a step of the plan"};
  if (has_dependency_cycle(steps))
    return Violation{DropReason::dependency_cycle, "the dependencies of target.plan form a cycle"};
  for (std::size_t i = 0; i < steps.size(); ++i)
    for (const auto& [key, value] : steps[i].params.items())
      if (!value_hydrated(value))
        return Violation{DropReason::unhydrated_value,
                         step_field(i) + ".api_request_parameters." + key + ": " + shortened(value.dump())};
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!steps[i].marked_hydrated)
      return Violation{DropReason::not_marked_hydrated, step_field(i) + ".all_parameters_hydrated is false"};
  return std::nullopt;
}

std::string duplicate_key(const PlanSample& s) {
  json messages = json::array();
  for (const auto& m : s.messages) messages.push_back({m.role, normalized(m.content)});
  std::set<std::string> ids;
  for (const auto& c : s.candidates) ids.insert(c.plugin_id);
  return json::array({messages, ids, s.target ? s.target->plan : json()}).dump();
}

std::size_t CleanReport::count(DropReason r) const {
  return static_cast<std::size_t>(
      std::count_if(dropped.begin(), dropped.end(), [r](const DroppedSample& d) { return d.reason == r; }));
}

nlohmann::ordered_json CleanReport::to_json() const {
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  for (DropReason r : kDropReasons) reasons[std::string(reason_name(r))] = count(r);
  nlohmann::ordered_json samples = nlohmann::ordered_json::array();
  for (const auto& d : dropped)
    samples.push_back(
        {{"line", d.line}, {"id", d.id}, {"reason", std::string(reason_name(d.reason))}, {"detail", d.detail}});
  return {{"total", total},
          {"kept", kept},
          {"dropped", dropped.size()},
          {"reasons", reasons},
          {"dropped_samples", samples}};
}

CleanResult clean_jsonl(std::string_view text) {
  CleanResult result;
  CleanReport& report = result.report;
  std::unordered_map<std::string, std::size_t> kept_at;  // duplicate key -> line of the kept sample
  std::size_t line_no = 0;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (blank(line)) continue;
    ++report.total;
    auto drop = [&](std::string id, DropReason reason, std::string detail) {
      report.dropped.push_back({line_no, std::move(id), reason, std::move(detail)});
    };

    json j;
    if (auto e = try_parse_json(line, j)) {
      drop("", DropReason::unparseable, "invalid JSON: " + e->reason);
      continue;
    }
    const std::string source = "line " + std::to_string(line_no);
    PlanSample sample;
    try {
      sample = sample_from_json(j, source);
    } catch (const Error& e) {
      std::string id = j.is_object() && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
      std::string detail = e.what();
      if (detail.starts_with(source + ": ")) detail.erase(0, source.size() + 2);
      drop(std::move(id), DropReason::unparseable, std::move(detail));
      continue;
    }
    if (auto v = check_sample(sample)) {
      drop(sample.id, v->reason, std::move(v->detail));
      continue;
    }
    auto [first, inserted] = kept_at.emplace(duplicate_key(sample), line_no);
    if (!inserted) {
      drop(sample.id, DropReason::duplicate, "same as line " + std::to_string(first->second));
      continue;
    }
    result.kept.append(line).push_back('\n');
    ++report.kept;
  }
  return result;
}

CleanReport clean_file(const std::filesystem::path& in, const std::filesystem::path& out,
                       const std::filesystem::path& report) {
  if (same_file(in, out)) throw Error(out.string() + ": the output would overwrite the input; name another file");
  if (same_file(in, report)) throw Error(report.string() + ": the report would overwrite the input; name another file");
  if (same_file(out, report)) throw Error(report.string() + ": the report and the output must be two files");
  CleanResult result = clean_jsonl(read_text_file(in));
  write_file_atomically(out, result.kept);
  nlohmann::ordered_json j = {{"input", in.string()}, {"output", out.string()}};
  nlohmann::ordered_json body = result.report.to_json();
  for (auto& [key, value] : body.items()) j[key] = std::move(value);
  // A dropped line's detail may quote bytes that are not UTF-8 (that is why it was dropped): written as U+FFFD, so
  // that the report is always written.
  write_file_atomically(report, j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  return result.report;
}

}  // namespace gt::data
