#pragma once
// Command-line overrides of a run config (`--set optimizer.lr=1e-5`, TRL's `--learning_rate 1e-5`): set on top of
// the file before it is read, so what the run saves (run_config.json) is the config after them.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gt::train {

struct Override {
  std::string key;    // dotted for nested keys; ours or the HF / TRL name (config_names.h)
  std::string value;  // read as JSON where it parses as JSON, else as a string
  std::string origin;  // what the command line said ("--set optimizer.lr=1e-5"), for errors
};

// "key=value" of --set.
Override parse_set(const std::string& assignment);

// TRL's style: "--name value", "--name=value", or "--name" alone (true), in order. Anything else is an error.
std::vector<Override> parse_flag_overrides(const std::vector<std::string>& args);

// Sets each override in `config`, after removing the same setting under its other names (so `--learning_rate`
// replaces the file's optimizer.lr).
void apply_overrides(nlohmann::json& config, const std::vector<Override>& overrides);

}  // namespace gt::train
