#include "data/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gt::data {

namespace {

[[noreturn]] void fail_errno(const std::filesystem::path& path, const char* what) {
  throw DataError(path.string() + ": cannot " + what + ": " + std::strerror(errno));
}

}  // namespace

std::string parse_error_reason(const nlohmann::json::parse_error& e) {
  std::string msg = e.what();
  auto col = msg.find("column ");
  auto colon = col == std::string::npos ? std::string::npos : msg.find(": ", col);
  return colon == std::string::npos ? msg : msg.substr(colon + 2);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_errno(path, "open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail_errno(path, "read");
  return ss.str();
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::string text = read_text(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    std::size_t at = e.byte == 0 ? 0 : std::min(e.byte - 1, text.size());
    std::size_t line = 1, line_start = 0;
    for (std::size_t i = 0; i < at; ++i)
      if (text[i] == '\n') ++line, line_start = i + 1;
    throw DataError(path.string() + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1) +
                    ": invalid JSON: " + parse_error_reason(e));
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
      throw DataError(path.string() + ":" + std::to_string(line) + ":" + std::to_string(e.byte) +
                      ": invalid JSON: " + parse_error_reason(e));
    }
    fn(value, line);
    ++values;
  }
  if (in.bad()) fail_errno(path, "read");
  return values;
}

void write_atomic(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno(path, "create its temporary file");
  int err = 0;
  for (std::size_t done = 0; done < content.size() && !err;) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n >= 0)
      done += static_cast<std::size_t>(n);
    else if (errno != EINTR)
      err = errno;
  }
  if (!err && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (!err && ::rename(tmp.c_str(), path.c_str()) == 0) return;
  const char* what = err ? "write" : "replace";
  if (!err) err = errno;
  ::unlink(tmp.c_str());
  errno = err;
  fail_errno(path, what);
}

}  // namespace gt::data
