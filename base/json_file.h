#pragma once
// Reading JSON files: the one place they are parsed, so every reader gets the same errors (the file, and the line
// and column of a syntax error) and the same limits. Errors are gt::Error.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/error.h"

namespace gt {

// nlohmann's parse error without its own "[json.exception...] parse error at line L, column C:" prefix, for
// messages that give the position in their own way.
std::string parse_error_reason(const nlohmann::json::parse_error& e);

// Parses a file that holds one JSON value; a syntax error names the line and column.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Calls fn(value, line) for each non-blank line of a JSON Lines file (lines count from 1; blank lines are skipped so
// that a trailing newline or an empty last line is harmless). Returns the number of values seen.
std::size_t for_each_jsonl(const std::filesystem::path& path,
                           const std::function<void(const nlohmann::json&, std::size_t line)>& fn);

}  // namespace gt
