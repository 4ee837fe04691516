#include "eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/files.h"
#include "base/json_file.h"

namespace gt::eval {

namespace {

using nlohmann::json;

struct Column {
  const char* label;
  const char* key;
  double Summary::*share;
  bool rl::PlanMetrics::*metric;
};
constexpr Column kColumns[] = {
    {"JSON valid", "json_valid", &Summary::json_valid, &rl::PlanMetrics::json_valid},
    {"Plugin-ID match", "plugin_id_match", &Summary::plugin_id_match, &rl::PlanMetrics::plugin_id_match},
    {"Count match", "count_match", &Summary::count_match, &rl::PlanMetrics::count_match},
    {"No-hallucinate", "no_hallucinate", &Summary::no_hallucinate, &rl::PlanMetrics::no_hallucinate},
    {"Hydrated", "hydrated", &Summary::hydrated, &rl::PlanMetrics::hydrated},
    {"Deps chain", "deps_chain", &Summary::deps_chain, &rl::PlanMetrics::deps_chain}};

double round6(double x) { return std::round(x * 1e6) / 1e6 + 0.0; }

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}
std::string percent(double fraction) { return fixed(100 * fraction, 1) + "%"; }
std::string mean_text(double mean) { return fixed(mean, 3); }

template <class Keep>
Summary summary_of(const std::vector<SampleResult>& results, double max_reward, Keep keep) {
  Summary s;
  for (const auto& r : results) {
    if (!keep(r)) continue;
    ++s.n;
    s.mean += r.score.reward / max_reward;
    for (const auto& c : kColumns) s.*c.share += r.score.metrics.*c.metric ? 1.0 : 0.0;
  }
  if (s.n > 0) {
    s.mean /= static_cast<double>(s.n);
    for (const auto& c : kColumns) s.*c.share /= static_cast<double>(s.n);
  }
  return s;
}

json summary_json(const Summary& s) {
  json j = {{"n", s.n}, {"mean", round6(s.mean)}};
  for (const auto& c : kColumns) j[c.key] = round6(s.*c.share);
  return j;
}

Summary summary_from_json(const json& j, const std::string& source, const std::string& field) {
  auto bad = [&](const std::string& f, const char* problem) { throw Error(source + ": field '" + f + "' " + problem); };
  if (!j.is_object()) bad(field, "must be an object");
  auto number = [&](const char* key) {
    auto it = j.find(key);
    if (it == j.end()) bad(field + "." + key, "is missing");
    if (!it->is_number()) bad(field + "." + key, "must be a number");
    return it->get<double>();
  };
  Summary s;
  if (!j.contains("n") || !j["n"].is_number_unsigned()) bad(field + ".n", "must be a non-negative integer");
  s.n = j["n"].get<std::size_t>();
  s.mean = number("mean");
  for (const auto& c : kColumns) s.*c.share = number(c.key);
  return s;
}

std::string reduction_text(double mean_a, double mean_b) {
  auto r = error_reduction(mean_a, mean_b);
  return r ? fixed(100 * *r, 1) + "%" : "n/a";
}

const Summary* find_category(const Report& r, const std::string& name) {
  for (const auto& [cat, s] : r.categories)
    if (cat == name) return &s;
  return nullptr;
}

}  // namespace

Report summarize(const std::vector<SampleResult>& results, const rl::RewardWeights& weights) {
  const double max_reward = weights.max_reward();
  Report report;
  report.overall = summary_of(results, max_reward, [](const SampleResult&) { return true; });
  for (std::string_view cat : data::kCategories) {
    Summary s = summary_of(results, max_reward, [&](const SampleResult& r) { return r.category == cat; });
    if (s.n > 0) report.categories.emplace_back(std::string(cat), s);
  }
  report.inputs["weights"] = weights.to_json();
  return report;
}

json to_json(const Report& r) {
  json categories = json::object();
  for (const auto& [cat, s] : r.categories) categories[cat] = summary_json(s);
  return {{"overall", summary_json(r.overall)}, {"categories", categories}, {"inputs", r.inputs}};
}

Report read_report(const std::filesystem::path& path) {
  const std::string source = path.string();
  json j = read_json_file(path);
  if (!j.is_object()) throw Error(source + ": a report must be a JSON object");
  if (!j.contains("overall")) throw Error(source + ": field 'overall' is missing");
  Report r;
  r.overall = summary_from_json(j["overall"], source, "overall");
  const json categories = j.value("categories", json::object());
  if (!categories.is_object()) throw Error(source + ": field 'categories' must be an object");
  for (const auto& [cat, s] : categories.items())
    r.categories.emplace_back(cat, summary_from_json(s, source, "categories." + cat));
  r.inputs = j.value("inputs", json::object());
  return r;
}

std::string markdown_table(const Report& r) {
  std::string head = "| Mean |", rule = "|---:|", row = "| " + mean_text(r.overall.mean) + " |";
  for (const auto& c : kColumns) {
    head += std::string(" ") + c.label + " |";
    rule += "---:|";
    row += " ";
    row += percent(r.overall.*c.share) + " |";
  }
  std::string out = head + " Samples |\n" + rule + "---:|\n" + row + " " + std::to_string(r.overall.n) + " |\n";
  out += "\n| Category | Mean | Samples |\n|---|---:|---:|\n";
  for (const auto& [cat, s] : r.categories)
    out += "| " + cat + " | " + mean_text(s.mean) + " | " + std::to_string(s.n) + " |\n";
  return out;
}

std::string markdown_compare(const Report& a, const std::string& label_a, const Report& b, const std::string& label_b) {
  std::string out = "A: " + label_a + "\nB: " + label_b + "\n\n";
  out += "| | A | B | Error reduction |\n|---|---:|---:|---:|\n";
  out += "| Mean | " + mean_text(a.overall.mean) + " | " + mean_text(b.overall.mean) + " | " +
         reduction_text(a.overall.mean, b.overall.mean) + " |\n";
  for (const auto& c : kColumns)
    out += std::string("| ") + c.label + " | " + percent(a.overall.*c.share) + " | " + percent(b.overall.*c.share) +
           " | |\n";
  out += "| Samples | " + std::to_string(a.overall.n) + " | " + std::to_string(b.overall.n) + " | |\n";

  std::vector<std::string> names;
  for (const auto* r : {&a, &b})
    for (const auto& [cat, s] : r->categories)
      if (std::find(names.begin(), names.end(), cat) == names.end()) names.push_back(cat);
  std::sort(names.begin(), names.end());  // the §3 category names sort in their table order
  out += "\n| Category | Mean A | Mean B | Error reduction | Samples A | Samples B |\n|---|---:|---:|---:|---:|---:|\n";
  for (const auto& cat : names) {
    const Summary* sa = find_category(a, cat);
    const Summary* sb = find_category(b, cat);
    out += "| " + cat + " | " + (sa ? mean_text(sa->mean) : "-") + " | " + (sb ? mean_text(sb->mean) : "-") + " | " +
           (sa && sb ? reduction_text(sa->mean, sb->mean) : "-") + " | " + (sa ? std::to_string(sa->n) : "0") + " | " +
           (sb ? std::to_string(sb->n) : "0") + " |\n";
  }
  return out;
}

std::optional<double> error_reduction(double mean_a, double mean_b) {
  double err_a = 1.0 - mean_a, err_b = 1.0 - mean_b;
  if (err_a <= 0) return std::nullopt;
  return (err_a - err_b) / err_a;
}

void write_report(const std::filesystem::path& dir, const Report& r, const std::vector<SampleResult>& results) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create the directory: " + ec.message());

  std::string lines;
  for (const auto& s : results) {
    json j = s.score.to_json();
    j["id"] = s.id;
    j["category"] = s.category;
    j["completion"] = s.completion;
    lines += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  write_file_atomically(dir / "completions.jsonl", lines);
  write_file_atomically(dir / "report.json", to_json(r).dump(2) + "\n");

  std::string md = "# Eval report\n\n";
  for (const auto& [key, value] : r.inputs.items())
    md += "- " + key + ": " + (value.is_string() ? value.get<std::string>() : value.dump()) + "\n";
  md += "\n";
  md += markdown_table(r);
  write_file_atomically(dir / "report.md", md);
}

}  // namespace gt::eval
