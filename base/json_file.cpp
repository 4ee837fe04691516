#include "base/json_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/files.h"

namespace gt {

namespace {

[[noreturn]] void fail_errno(const std::filesystem::path& path, const char* what) {
  throw Error(path.string() + ": cannot " + what + ": " + std::strerror(errno));
}

}  // namespace

std::string parse_error_reason(const nlohmann::json::parse_error& e) {
  std::string msg = e.what();
  auto col = msg.find("column ");
  auto colon = col == std::string::npos ? std::string::npos : msg.find(": ", col);
  return colon == std::string::npos ? msg : msg.substr(colon + 2);
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    std::size_t at = e.byte == 0 ? 0 : std::min(e.byte - 1, text.size());
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < at; ++i)
      if (text[i] == '\n') ++line, line_start = i + 1;
    throw Error(path.string() + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1) +
                ": invalid JSON: " + parse_error_reason(e));
  } catch (const nlohmann::json::out_of_range& e) {  // a number beyond a double's range (1e400) is no parse_error
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
}

std::size_t for_each_jsonl(const std::filesystem::path& path,
                           const std::function<void(const nlohmann::json&, std::size_t line)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno(path, "open");
  std::string text;
  std::size_t line = 0, values = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(path.string() + ":" + std::to_string(line) + ":" + std::to_string(e.byte) +
                  ": invalid JSON: " + parse_error_reason(e));
    } catch (const nlohmann::json::out_of_range& e) {
      throw Error(path.string() + ":" + std::to_string(line) + ": invalid JSON: " + e.what());
    }
    fn(value, line);
    ++values;
  }
  if (in.bad()) fail_errno(path, "read");
  return values;
}

}  // namespace gt
