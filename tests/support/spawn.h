#pragma once
// Running build/gemma-tune as a child process that a test can kill at any moment (files.h's run_gemma_tune waits
// for it instead).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "train/checkpoint.h"

namespace gt::testing {

// Starts build/gemma-tune with `args`, its stdout and stderr appended to `log`.
inline pid_t spawn_gemma_tune(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  std::vector<char*> argv{const_cast<char*>(GT_BINARY)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(GT_BINARY, argv.data());
  ::_exit(127);
}

// The exit status, or minus the signal that ended it.
inline int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// One life of a run that dies by SIGKILL after making progress: starts build/gemma-tune with `args`, waits until
// `ck`'s `latest` moves on (one more complete checkpoint; at most 60 s), then `delay_ms` more, so the kill lands
// mid-step, mid-eval or mid-write depending on the delay but never before the life has saved something, however
// loaded the machine is. Returns false when the run ended on its own first (it was complete).
inline bool kill_after_next_checkpoint(const std::vector<std::string>& args, const std::string& log,
                                       const train::CheckpointDir& ck, int delay_ms) {
  const auto before = ck.latest();
  const pid_t pid = spawn_gemma_tune(args, log);
  const auto start = std::chrono::steady_clock::now();
  while (ck.latest() == before && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  ::kill(pid, SIGKILL);
  return wait_for(pid) == -SIGKILL;
}

}  // namespace gt::testing
