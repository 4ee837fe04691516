#pragma once
// SIGINT and SIGTERM as a request to stop a long job cleanly (finish the step, checkpoint, exit 130).
#include <atomic>

namespace gt::cli {

// Installs the handlers and returns the flag they set. The first signal sets it and restores the default action,
// so a second one ends the process at once (the job then resumes from its last checkpoint).
const std::atomic<bool>& install_stop_signals();

}  // namespace gt::cli
