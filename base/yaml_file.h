#pragma once
// Reading YAML configs into the same nlohmann::json that JSON ones become, so one reader (and its errors) serves
// both. Scalars resolve as YAML 1.2's core schema does (1e-5 is a number, yes and no are strings); errors name the
// file and the line. Errors are gt::Error.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

namespace gt {

// Parses one YAML document. Refused: nesting deeper than kMaxJsonDepth (json_file.h), more values than the text has
// bytes (aliases that expand a small text into a huge tree), duplicate keys, keys that are not scalars, tags other
// than the standard ones, and .inf / .nan (JSON has no such numbers).
nlohmann::json parse_yaml(std::string_view text, std::string_view origin);

// Parses a file that holds one YAML document.
nlohmann::json read_yaml_file(const std::filesystem::path& path);

// Whether `path` names a YAML file (.yaml or .yml).
bool is_yaml_path(const std::filesystem::path& path);

}  // namespace gt
