#pragma once
// TRL-format conversational lines made from synthetic plan samples (data/synth.h): the candidates become tools, and
// the gold plan becomes the model's thought, one tool call per step (its parameters as the arguments), a tool result
// per call and a closing answer; multi_turn samples keep their earlier turns. Every other line has a system prompt.
#include <nlohmann/json.hpp>
#include <string>

#include "data/plan_sample.h"
#include "data/synth.h"
#include "data/synth_catalog.h"

namespace gt::testing {

inline nlohmann::json conversation_line(const data::PlanSample& s, bool with_system) {
  using nlohmann::json;
  json tools = json::array();
  for (const data::Candidate& c : s.candidates) {
    json parameters = c.parameters ? *c.parameters : json{{"type", "object"}, {"properties", json::object()}};
    tools.push_back(
        {{"type", "function"},
         {"function", {{"name", c.plugin_id}, {"description", c.description}, {"parameters", parameters}}}});
  }
  json messages = json::array();
  if (with_system) messages.push_back({{"role", "system"}, {"content", "Call the tools the request needs."}});
  for (const data::Message& m : s.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  json calls = json::array(), results = json::array();
  std::string done;
  int k = 0;
  for (const data::PlanStep& step : data::gold_plan(s)) {
    const std::string id = "call_" + std::to_string(k++);
    calls.push_back(
        {{"id", id}, {"type", "function"}, {"function", {{"name", step.plugin_id}, {"arguments", step.params}}}});
    results.push_back({{"role", "tool"}, {"tool_call_id", id}, {"content", "ok"}});
    done += (done.empty() ? "" : ", ") + step.plugin_id;
  }
  messages.push_back({{"role", "assistant"}, {"reasoning", s.target->thinking}, {"tool_calls", calls}});
  for (const json& r : results) messages.push_back(r);
  messages.push_back({{"role", "assistant"}, {"content", "Done: " + done + "."}});
  return {{"id", s.id}, {"messages", messages}, {"tools", tools}};
}

// `count` lines of one synthetic set (seeded, 4 candidates from one domain, so lines stay short for the byte
// tokenizer), as JSON Lines.
inline std::string conversation_jsonl(std::size_t count, std::uint64_t seed, bool heldout = false) {
  data::synth::Options o;
  o.seed = seed;
  (heldout ? o.heldout : o.train) = count;
  o.num_plugins = 4;
  o.domains = {data::synth::domains().front().name};
  const data::synth::Sets sets = data::synth::synthesize(o);
  std::string out;
  std::size_t i = 0;
  for (const data::PlanSample& s : heldout ? sets.heldout : sets.train)
    out += conversation_line(s, i++ % 2 == 0).dump() + "\n";
  return out;
}

}  // namespace gt::testing
