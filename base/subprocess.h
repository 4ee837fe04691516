#pragma once
// Running a shell command as a filter (text in, text out) with a time limit: the external reward (rl/) and the
// AutoResearch proposer command (research/) both hand a program one JSON document and read back what it prints.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace gt {

struct ShellFilter {
  std::string who;  // how errors name the command, e.g. "reward command 'score.py'"
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_stdout = 64 * 1024;
  std::string expected;  // what the output should be, for the too-much-output error ("one number")
};

// Runs `command` with /bin/sh -c in its own process group, writes `input` to its stdin, closes it, and returns
// everything it printed on stdout once it has exited with status 0. A command that cannot start, runs past the
// timeout (it and everything it started are killed), prints more than max_stdout bytes, is killed by a signal or
// exits with another status throws gt::Error starting with `who` (with the start of its stderr where it said
// something). The child is always reaped. Safe to call from several threads at once.
std::string run_shell_filter(const std::string& command, std::string_view input, const ShellFilter& how);

}  // namespace gt
