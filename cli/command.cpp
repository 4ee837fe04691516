#include "cli/command.h"

#include <map>

namespace gt::cli {

namespace {
std::map<CLI::App*, std::function<int()>>& jobs() {
  static std::map<CLI::App*, std::function<int()>> j;
  return j;
}
}  // namespace

std::vector<Command>& commands() {
  static std::vector<Command> c;
  return c;
}

void set_job(CLI::App* sub, std::function<int()> job) { jobs()[sub] = std::move(job); }

int run_selected(CLI::App& app) {
  for (auto* sub : app.get_subcommands()) {
    auto it = jobs().find(sub);
    if (it != jobs().end()) return it->second();
  }
  return 0;
}

}  // namespace gt::cli
