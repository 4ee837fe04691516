#pragma once
// What every harness shares. A parser's contract is that hostile input ends in gt::Error or a value, so a harness
// catches gt::Error (a clean refusal counts as a pass) and lets anything else through: another exception type
// escaping, a sanitizer report, a hang or a leak is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "base/error.h"

namespace gt::fuzz {

// A scratch folder of this process (RAM-backed where /dev/shm exists, so writing the input costs little); removed
// at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::getenv("TMPDIR");
    std::filesystem::path d = std::filesystem::path(base ? base : "/tmp") / ("gt-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
    return d;
  }();
  return dir;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Writes `bytes` to `name` in the scratch folder and returns its path, for readers that take a file.
inline std::filesystem::path write_scratch(const std::string& name, std::string_view bytes) {
  const std::filesystem::path p = scratch_dir() / name;
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return p;
}

// Runs fn; gt::Error is the parser refusing the input, which is what it should do.
template <class F>
void expect_value_or_error(F&& fn) {
  try {
    fn();
  } catch (const gt::Error&) {
  }
}

}  // namespace gt::fuzz
