// `gemma-tune info`: what this build is and how many threads it will use.
#include <cblas.h>

#include <iostream>

#include "autograd/parallel.h"
#include "cli/command.h"

namespace {
gt::cli::Registrar reg("info", [](CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Show the build, BLAS and thread settings");
  gt::cli::set_job(sub, [] {
    std::cout << "gemma-tune " << GT_VERSION << "\n"
              << "threads: " << gt::num_threads() << " (set GT_NUM_THREADS to change)\n"
              << "blas: " << openblas_get_config() << ", kernels for " << openblas_get_corename() << "\n";
    return 0;
  });
});
}  // namespace
