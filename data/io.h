#pragma once
// File input and output for data sets and reports. `data` stands alone (it links only nlohmann_json), so it has
// its own error type; every message starts with the file, and with the line where there is one.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace gt::data {

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string read_text(const std::filesystem::path& path);

// nlohmann's parse error without its own "[json.exception...] parse error at line L, column C:" prefix, for
// messages that give the position in their own way.
std::string parse_error_reason(const nlohmann::json::parse_error& e);

// Parses a file that holds one JSON value; a syntax error names the line and column.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Calls fn(value, line) for each non-blank line of a JSON Lines file (lines count from 1; blank lines are skipped so
// that a trailing newline or an empty last line is harmless). Returns the number of values seen.
std::size_t for_each_jsonl(const std::filesystem::path& path,
                           const std::function<void(const nlohmann::json&, std::size_t line)>& fn);

// Writes to a temporary file in the same directory, syncs it and renames it over `path`, so a reader sees either
// the old file or the whole new one, never a partial write.
void write_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace gt::data
