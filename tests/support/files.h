#pragma once
// Test helpers for file-based tests: a scratch directory per test, and running the gemma-tune binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace gt::testing {

// Unique per process and test, since ctest runs every test as its own process, several at once.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("gt_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return path / name;
  }
};

struct CommandResult {
  int rc;              // exit status, -1 when it did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs a shell command and collects what it prints (stdout and stderr together).
inline CommandResult run_command(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Runs build/gemma-tune with `args` (shell syntax).
inline CommandResult run_gemma_tune(const std::string& args) { return run_command(std::string(GT_BINARY) + " " + args); }

}  // namespace gt::testing
