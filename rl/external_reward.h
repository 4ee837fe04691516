#pragma once
// A reward computed by another program, so reward experiments need no rebuild (§2). GRPO and `gemma-tune reward`
// share this hook.
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace gt::rl {

struct ExternalReward {
  std::string command;  // run with /bin/sh -c
  std::chrono::milliseconds timeout{30'000};

  // Starts the command, writes one line {"completion": ..., "sample": ...} to its stdin (the sample: a plan sample's
  // §1.1 JSON, or a TRL prompt line's columns with its extra ones, docs/data.md), closes stdin and reads one
  // number (surrounding whitespace allowed) from its stdout. A timeout (the command and everything it started are
  // killed), an exit other than 0, or output that is not one finite number throws gt::Error naming the command.
  // The child is always reaped. Safe to call from several threads at once.
  double operator()(const nlohmann::json& sample, std::string_view completion) const;
};

}  // namespace gt::rl
