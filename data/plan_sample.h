#pragma once
// One training or eval sample (§1.1) and its JSON Lines reader and writer. Reading checks the shape a sample needs
// to be rendered; it does not judge the gold plan, because `data clean` must be able to read a bad plan in order to
// count why it drops it. gold_plan() is the strict view for scoring.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/plan.h"

namespace gt::data {

// The orchestrator prompt of the published model card, used when a sample has no `system`.
inline constexpr std::string_view kDefaultSystem =
    "You are an AI agent orchestrator. Given a user request and available plugins/tools, generate a precise "
    "multi-step execution plan as a valid JSON object. Each step must use available plugins with correct "
    "parameters, proper types, and valid JSON formatting.";

inline constexpr std::string_view kCategories[] = {"1_step", "2_step", "3_step", "4_step", "multi_turn"};

struct Candidate {
  std::string plugin_id, name, description, identifier, method;
  std::optional<nlohmann::json> parameters;  // an object; shown to the model when present
};

struct Message {
  std::string role;  // "user" or "assistant"; the last message is the user turn the plan answers
  std::string content;
};

struct Target {
  std::string thinking;
  nlohmann::json plan;  // kept as read: any JSON value
};

struct PlanSample {
  std::string id;
  std::string category;  // one of kCategories
  std::optional<std::string> system;
  std::vector<Candidate> candidates;
  std::vector<Message> messages;
  std::optional<Target> target;  // absent in prompt-only files
  // "file:line" the sample was read from, so later errors (a missing gold plan) can point at it; never written.
  std::string source;

  std::string_view system_prompt() const { return system ? std::string_view(*system) : kDefaultSystem; }
};

// `source` prefixes every error: "data.jsonl:17: field 'candidates[2].pluginId' must be a string".
PlanSample sample_from_json(const nlohmann::json& j, const std::string& source);
nlohmann::json to_json(const PlanSample& s);

// Errors name the file and line; a file without samples is an error too.
std::vector<PlanSample> read_samples(const std::filesystem::path& jsonl);
// A file that holds a single sample as one JSON value.
PlanSample read_sample(const std::filesystem::path& json_file);
// Written atomically, one compact line per sample.
void write_samples(const std::filesystem::path& jsonl, const std::vector<PlanSample>& samples);

// The gold plan's steps, checked strictly for scoring: a target must exist and its plan must be a valid plan with
// at least one step, unique pluginIds, an api_request_parameters object and pluginId-string dependencies.
std::vector<PlanStep> gold_plan(const PlanSample& s);

}  // namespace gt::data
