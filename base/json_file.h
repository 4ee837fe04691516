#pragma once
// Reading JSON: the one place it is parsed, so every reader gets the same errors (the file, and the line and column
// of a syntax error) and the same limits. Errors are gt::Error.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace gt {

// The deepest nesting of arrays and objects that any JSON input may have. nlohmann parses iteratively, but copies,
// compares and dumps values recursively, so a value nested 200k levels deep would overflow the stack long after it
// parsed; the inputs we read (configs, samples, reports, tokenizers, safetensors headers) nest a few levels.
inline constexpr std::size_t kMaxJsonDepth = 512;

// Why a text is not acceptable JSON, and where (lines and columns count from 1).
struct JsonError {
  std::size_t line = 1, column = 1;
  std::string reason;
  std::string where() const { return std::to_string(line) + ":" + std::to_string(column); }
};

// Parses one JSON value into `out`, or says why not: a syntax error, nesting deeper than kMaxJsonDepth, or a number
// beyond the range of a double (nlohmann would throw a bare out_of_range for 1e999). Builds nothing deeper than the
// limit, so the value is safe to copy. For readers that skip a bad input instead of failing.
std::optional<JsonError> try_parse_json(std::string_view text, nlohmann::json& out);

// Parses one JSON value; an error reads "origin:line:column: invalid JSON: reason", the line counted from
// first_line (for one line of a JSON Lines file).
nlohmann::json parse_json(std::string_view text, std::string_view origin, std::size_t first_line = 1);

// Parses a file that holds one JSON value.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Calls fn(value, line) for each non-blank line of a JSON Lines file (lines count from 1; blank lines are skipped so
// that a trailing newline or an empty last line is harmless). Returns the number of values seen.
std::size_t for_each_jsonl(const std::filesystem::path& path,
                           const std::function<void(const nlohmann::json&, std::size_t line)>& fn);

}  // namespace gt
