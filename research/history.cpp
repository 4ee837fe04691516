#include "research/history.h"

#include <sstream>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"

namespace gt::research {

using nlohmann::json;

namespace {

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

[[noreturn]] void bad_field(const json& j, const std::string& source, const char* key, const char* want) {
  fail(source, ": field '", key, "' must be ", want, j.contains(key) ? ", got " + j.at(key).dump() : " (missing)");
}

}  // namespace

json to_json(const TrialRecord& r) {
  return {{"trial", r.trial},
          {"proposer", r.proposer},
          {"params", r.params},
          {"changed", r.changed.empty() ? json(nullptr) : json(r.changed)},
          {"previous", r.previous},
          {"score", optional_number(r.score)},
          {"best_before", optional_number(r.best_before)},
          {"accepted", r.accepted},
          {"failure", r.failure.empty() ? json(nullptr) : json(r.failure)},
          {"duration_s", r.duration_s},
          {"weights", r.weights.empty() ? json(nullptr) : json(r.weights)},
          {"ended", r.ended},
          {"details", r.details}};
}

TrialRecord record_from_json(const json& j, const std::string& source) {
  auto bad = [&](const char* key, const char* want) { bad_field(j, source, key, want); };
  if (!j.is_object()) fail(source, ": a trial record must be a JSON object");
  auto text = [&](const char* key, bool nullable) -> std::string {
    const json v = j.value(key, json());
    if (v.is_string()) return v.get<std::string>();
    if (nullable && v.is_null()) return "";
    bad_field(j, source, key, nullable ? "a string or null" : "a string");
  };
  auto number = [&](const char* key) -> std::optional<double> {
    const json v = j.value(key, json());
    if (v.is_number()) return v.get<double>();
    if (v.is_null()) return std::nullopt;
    bad_field(j, source, key, "a number or null");
  };
  TrialRecord r;
  if (!j.contains("trial") || !j["trial"].is_number_integer()) bad("trial", "an integer");
  r.trial = j["trial"].get<int64_t>();
  r.proposer = text("proposer", false);
  r.params = j.value("params", json());
  if (!r.params.is_object() && !r.params.is_null()) bad("params", "an object or null");
  r.changed = text("changed", true);
  r.previous = j.value("previous", json());
  r.score = number("score");
  r.best_before = number("best_before");
  if (!j.contains("accepted") || !j["accepted"].is_boolean()) bad("accepted", "true or false");
  r.accepted = j["accepted"].get<bool>();
  r.failure = text("failure", true);
  const std::optional<double> duration = number("duration_s");
  if (!duration) bad("duration_s", "a number");
  r.duration_s = *duration;
  r.weights = text("weights", true);
  r.ended = text("ended", false);
  r.details = j.value("details", json::object());
  if (r.accepted && !r.score) fail(source, ": trial ", r.trial, " is accepted but has no score");
  return r;
}

std::vector<TrialRecord> read_history(const std::filesystem::path& path) {
  std::vector<TrialRecord> out;
  if (!std::filesystem::exists(path)) return out;
  for_each_jsonl(path, [&](const json& j, std::size_t line) {
    const std::string source = path.string() + ":" + std::to_string(line);
    TrialRecord r = record_from_json(j, source);
    GT_CHECK(r.trial == static_cast<int64_t>(out.size()), source, ": trial ", r.trial, " where trial ", out.size(),
             " was expected (trials are numbered 0, 1, 2, ... in order)");
    out.push_back(std::move(r));
  });
  return out;
}

void write_history(const std::filesystem::path& path, const std::vector<TrialRecord>& history) {
  std::string text;
  for (const TrialRecord& r : history) text += to_json(r).dump() + "\n";
  write_file_atomically(path, text);
}

const TrialRecord* best_trial(const std::vector<TrialRecord>& history) {
  const TrialRecord* best = nullptr;
  for (const TrialRecord& r : history)
    if (r.accepted) best = &r;
  return best;
}

void write_best(const std::filesystem::path& path, const std::vector<TrialRecord>& history) {
  const TrialRecord* b = best_trial(history);
  json j = {{"trials", history.size()}};
  if (b) {
    j.update({{"trial", b->trial},
              {"score", *b->score},
              {"params", b->params},
              {"weights", b->weights.empty() ? json(nullptr) : json(b->weights)}});
  } else {
    j.update({{"trial", nullptr}, {"score", nullptr}, {"params", nullptr}, {"weights", nullptr}});
  }
  write_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace gt::research
