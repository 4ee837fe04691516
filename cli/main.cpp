// gemma-tune: one binary, one subcommand per job. Subcommands live in cli/cmd_*.cpp and register themselves.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "autograd/blas.h"
#include "cli/command.h"

int main(int argc, char** argv) {
  // The same GEMM bits on every x86-64-v3 CPU (autograd/blas.h); should the exec fail, OpenBLAS's own choice stays.
  if (const char* core = gt::blas_kernels_to_pin()) {
    ::setenv("OPENBLAS_CORETYPE", core, 1);
    ::execv("/proc/self/exe", argv);
  }
  CLI::App app{"gemma-tune: fine-tune Gemma 4 E2B into a plugin orchestrator (SFT, GRPO, AutoResearch, eval)"};
  app.set_version_flag("--version", std::string("gemma-tune ") + GT_VERSION);
  app.require_subcommand(0, 1);
  for (auto& c : gt::cli::commands()) c.attach(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0)
      for (const std::string& hint : gt::cli::unknown_option_hints(app)) std::cerr << hint << "\n";
    return app.exit(e);
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  try {
    return gt::cli::run_selected(app);
  } catch (const std::exception& e) {
    // gt::Error, and whatever the standard library throws.
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
