#include "base/json_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/files.h"

namespace gt {

namespace {

[[noreturn]] void fail_errno(const std::filesystem::path& path, const char* what) {
  throw Error(path.string() + ": cannot " + what + ": " + std::strerror(errno));
}

// nlohmann's parse error without its own "[json.exception...] parse error at line L, column C:" prefix.
std::string parse_error_reason(const nlohmann::json::parse_error& e) {
  std::string msg = e.what();
  auto col = msg.find("column ");
  auto colon = col == std::string::npos ? std::string::npos : msg.find(": ", col);
  return colon == std::string::npos ? msg : msg.substr(colon + 2);
}

JsonError error_at(std::string_view text, std::size_t at, std::string reason) {
  JsonError e;
  e.reason = std::move(reason);
  at = std::min(at, text.size());
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < at; ++i)
    if (text[i] == '\n') ++e.line, line_start = i + 1;
  e.column = at - line_start + 1;
  return e;
}

// A number can only leave the range of a double through its exponent or a long run of digits; the rest never need
// converting twice.
bool number_overflows(std::string_view token) {
  if (token.find_first_of("eE") == std::string_view::npos && token.size() < 300) return false;
  return std::isinf(std::strtod(std::string(token).c_str(), nullptr));
}

// One iterative pass over the text before nlohmann builds anything: the nesting depth, and numbers too large for a
// double. Exact for valid JSON, which is all that the parser would build a value from.
std::optional<JsonError> check_limits(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        return error_at(text, i, "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } else if (c == ']' || c == '}') {
      depth -= depth > 0;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < text.size() && std::strchr("+-.eE0123456789", text[end]) && text[end] != '\0') ++end;
      const std::string_view token = text.substr(i, end - i);
      if (number_overflows(token))
        return error_at(text, i, "number " + std::string(token.substr(0, 40)) + " is out of range");
      i = end - 1;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<JsonError> try_parse_json(std::string_view text, nlohmann::json& out) {
  if (auto e = check_limits(text)) return e;
  try {
    out = nlohmann::json::parse(text);
    return std::nullopt;
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    return error_at(text, e.byte == 0 ? 0 : e.byte - 1, parse_error_reason(e));
  } catch (const nlohmann::json::exception& e) {
    return error_at(text, 0, e.what());
  }
}

nlohmann::json parse_json(std::string_view text, std::string_view origin, std::size_t first_line) {
  nlohmann::json value;
  if (auto e = try_parse_json(text, value))
    throw Error(std::string(origin) + ":" + std::to_string(e->line + first_line - 1) + ":" +
                std::to_string(e->column) + ": invalid JSON: " + e->reason);
  return value;
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  return parse_json(read_text_file(path), path.string());
}

std::size_t for_each_jsonl(const std::filesystem::path& path,
                           const std::function<void(const nlohmann::json&, std::size_t line)>& fn) {
  if (std::filesystem::is_directory(path)) throw Error(path.string() + ": is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno(path, "open");
  std::string text;
  std::size_t line = 0, values = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    fn(parse_json(text, path.string(), line), line);
    ++values;
  }
  if (in.bad()) fail_errno(path, "read");
  return values;
}

}  // namespace gt
