#pragma once
// `data clean`: the §1.3 rules. Every dropped sample is counted under exactly one reason: the first rule it breaks,
// in the order of DropReason below. The per-sample rules come first and the duplicate rule last, so a copy of a bad
// sample is reported by its defect, and "duplicate" always means "the same as an earlier sample that was kept".
//
// Kept lines are copied byte for byte (only a trailing '\r' is dropped), so cleaning a clean file reproduces it.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/plan_sample.h"

namespace gt::data {

enum class DropReason {
  unparseable,          // not JSON, or JSON that is not a §1.1 sample (the reader's error is the detail)
  no_target,            // no gold plan and thinking to clean
  plan_shape,           // target.plan is not {"plugins": [...]} with the eight keys of the right JSON types
  empty_thinking,       // target.thinking is empty or whitespace only
  unknown_plugin,       // a step's pluginId is not a candidate's
  missing_dependency,   // a dependency names no step of the plan
  dependency_cycle,     // the dependencies loop (a step depending on itself included)
  unhydrated_value,     // a parameter value, or anything inside it, is empty, a placeholder or has example.com
  not_marked_hydrated,  // all_parameters_hydrated is false
  duplicate,            // same normalized messages, candidate set and plan as an earlier kept sample
};

// Every reason, in the order the rules are checked.
inline constexpr DropReason kDropReasons[] = {DropReason::unparseable,         DropReason::no_target,
                                              DropReason::plan_shape,          DropReason::empty_thinking,
                                              DropReason::unknown_plugin,      DropReason::missing_dependency,
                                              DropReason::dependency_cycle,    DropReason::unhydrated_value,
                                              DropReason::not_marked_hydrated, DropReason::duplicate};

std::string_view reason_name(DropReason r);

struct Violation {
  DropReason reason;
  std::string detail;  // what exactly is wrong, naming the field: "plugins[1].api_request_parameters.city: \"TBD\""
};

// The first per-sample rule (no_target .. not_marked_hydrated) that `s` breaks, or nullopt.
//
// plan_shape also requires at least one step and distinct pluginIds: dependencies name steps by pluginId, so a
// repeated id makes them ambiguous, and eval (gold_plan) could not score such a sample.
std::optional<Violation> check_sample(const PlanSample& s);

// What two samples must share to be duplicates. Normalized messages: role and content, the content with leading
// and trailing whitespace removed, every run of whitespace made one space, and ASCII letters lowercased. The
// candidate set: the sorted, distinct candidate pluginIds (order and the rest of each candidate do not matter).
// The plan: its canonical JSON (object keys sorted, no whitespace), so formatting and key order do not matter but
// step order does. The system prompt and the thinking are not part of it.
std::string duplicate_key(const PlanSample& s);

struct DroppedSample {
  std::size_t line;  // 1-based line in the input
  std::string id;    // empty when the line has no readable id
  DropReason reason;
  std::string detail;
};

struct CleanReport {
  std::size_t total = 0;  // non-blank lines
  std::size_t kept = 0;
  std::vector<DroppedSample> dropped;  // in input order

  std::size_t count(DropReason r) const;
  // {"total", "kept", "dropped", "reasons": {every reason in check order: count}, "dropped_samples": [...]}
  nlohmann::ordered_json to_json() const;
};

struct CleanResult {
  std::string kept;  // the kept lines, each ending in '\n'
  CleanReport report;
};

// Cleans JSON Lines text; blank lines are skipped and not counted.
CleanResult clean_jsonl(std::string_view text);

// Cleans `in` into `out` and writes the report (its JSON plus "input" and "output") to `report`, both atomically.
// `in` is only read: naming it as `out` or `report` is an error, as is naming one file for both outputs.
CleanReport clean_file(const std::filesystem::path& in, const std::filesystem::path& out,
                       const std::filesystem::path& report);

}  // namespace gt::data
