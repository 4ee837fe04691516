#pragma once
// Turning a model completion into the plan object it contains (§2).
#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace gt::rl {

// 1. Drop thought blocks: Gemma 4's `<|channel>...<channel|>` (the chat template strips every channel block the
//    same way) and `<think>...</think>`. A block that is opened and never closed means the model never reached
//    the plan: nullopt.
// 2. Drop a ``` fence: when a fence opens before the first `{`, only the fenced text counts (the info string after
//    the opening ``` is skipped; an unclosed fence runs to the end).
// 3. Take the first brace-balanced `{...}`, skipping braces inside JSON strings; text after it is ignored.
// 4. Parse it as strict JSON (no comments, no trailing commas). Any failure: nullopt.
// Whether the object is a valid plan is plan_steps()'s decision, not this one's.
std::optional<nlohmann::json> parse_completion(std::string_view completion);

}  // namespace gt::rl
