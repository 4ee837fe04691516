#include "base/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>

#include "base/error.h"

extern char** environ;

namespace gt {

namespace {

constexpr std::size_t kMaxStderr = 4 * 1024;  // enough to quote in an error

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  explicit operator bool() const { return fd >= 0; }
};

// The command runs in its own process group, so a timeout also kills what the shell started. Whatever way we
// leave (an error, a timeout), the destructor kills and reaps a child that has not been reaped yet.
struct Child {
  pid_t pid = -1;
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid <= 0) return;
    ::kill(-pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
};

std::string trimmed(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

}  // namespace

std::string run_shell_filter(const std::string& command, std::string_view input, const ShellFilter& how) {
  const std::string& who = how.who;
  // stdin is a socket rather than a pipe so that writing to a command that exited early (or never reads its
  // input) fails with EPIPE through MSG_NOSIGNAL instead of raising SIGPIPE in this process.
  int in[2], out[2], err[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
    fail(who, ": cannot create its stdin: ", std::strerror(errno));
  Fd in_ours(in[0]), in_theirs(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) fail(who, ": cannot create its stdout: ", std::strerror(errno));
  Fd out_ours(out[0]), out_theirs(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) fail(who, ": cannot create its stderr: ", std::strerror(errno));
  Fd err_ours(err[0]), err_theirs(err[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_theirs.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_theirs.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_theirs.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attr, &signals);
  sigaddset(&signals, SIGPIPE);  // the command gets default SIGPIPE even if this process ignores it
  posix_spawnattr_setsigdefault(&attr, &signals);
  std::string shell_arg = command;
  char sh[] = "sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, shell_arg.data(), nullptr};

  Child child;
  int rc = ::posix_spawn(&child.pid, "/bin/sh", &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    child.pid = -1;
    fail(who, ": cannot start: ", std::strerror(rc));
  }
  in_theirs.reset();
  out_theirs.reset();
  err_theirs.reset();

  const auto deadline = std::chrono::steady_clock::now() + how.timeout;
  auto ms_left = [&] {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<std::int64_t>(0, left.count()));
  };
  auto timed_out = [&] { fail(who, ": timed out after ", how.timeout.count() / 1000.0, " s (killed)"); };

  std::string out_text, err_text;
  std::size_t written = 0;
  auto drain = [&](Fd& fd, std::string& into) {
    char buf[4096];
    ssize_t n = ::read(fd.fd, buf, sizeof buf);
    if (n > 0)
      into.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EINTR && errno != EAGAIN))
      fd.reset();
  };
  while (in_ours || out_ours || err_ours) {
    pollfd fds[3];
    Fd* owners[3];
    nfds_t count = 0;
    if (in_ours) owners[count] = &in_ours, fds[count++] = {in_ours.fd, POLLOUT, 0};
    if (out_ours) owners[count] = &out_ours, fds[count++] = {out_ours.fd, POLLIN, 0};
    if (err_ours) owners[count] = &err_ours, fds[count++] = {err_ours.fd, POLLIN, 0};
    int left = ms_left();
    if (left == 0) timed_out();
    int ready = ::poll(fds, count, left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) fail(who, ": poll failed: ", std::strerror(errno));
    if (ready == 0) timed_out();
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      Fd& fd = *owners[i];
      if (&fd == &in_ours) {
        ssize_t n = ::send(fd.fd, input.data() + written, input.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) written += static_cast<std::size_t>(n);
        // A command may ignore its input: once it stops reading, stop writing and keep listening.
        if (written == input.size() || (n < 0 && errno != EINTR && errno != EAGAIN)) fd.reset();
      } else {
        drain(fd, &fd == &out_ours ? out_text : err_text);
        if (out_text.size() > how.max_stdout)
          fail(who, ": printed more than ", how.max_stdout, " bytes; expected ", how.expected);
        if (err_text.size() > kMaxStderr) err_text.resize(kMaxStderr);
      }
    }
  }

  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(child.pid, &status, WNOHANG);
    if (r == child.pid) break;
    if (r < 0 && errno != EINTR) fail(who, ": cannot wait for it: ", std::strerror(errno));
    // It closed its output but has not exited yet; give it until the deadline.
    if (ms_left() == 0) timed_out();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  child.pid = -1;

  std::string err_note = trimmed(err_text);
  if (err_note.size() > 500) err_note = err_note.substr(0, 500) + "...";
  if (!err_note.empty()) err_note = ": " + err_note;
  if (WIFSIGNALED(status))
    fail(who, ": killed by signal ", WTERMSIG(status), " (", ::strsignal(WTERMSIG(status)), ")", err_note);
  if (WEXITSTATUS(status) != 0) fail(who, ": exited with status ", WEXITSTATUS(status), err_note);
  return out_text;
}

}  // namespace gt
