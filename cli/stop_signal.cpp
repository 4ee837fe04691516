#include "cli/stop_signal.h"

#include <csignal>

namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);
}

}  // namespace

namespace gt::cli {

const std::atomic<bool>& install_stop_signals() {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  return g_stop;
}

}  // namespace gt::cli
