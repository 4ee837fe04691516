// `gemma-tune grpo --config configs/grpo.json [--resume] [--stop-after N] [--device cuda]`: GRPO (rl/grpo.h). SIGINT and SIGTERM
// finish the current step and write a checkpoint before exiting (status 130), as `sft` does.
#include <iostream>

#include "cli/command.h"
#include "rl/grpo.h"

namespace {

gt::cli::Registrar grpo_reg("grpo", [](CLI::App& app) {
  auto* sub = app.add_subcommand("grpo",
                                 "GRPO on plan prompts: sampled groups, the plugin-selection reward, "
                                 "held-out evals keeping the best model");
  const auto args = gt::cli::add_trainer_options(sub, "GRPO config (JSON or YAML), e.g. configs/grpo.json");
  gt::cli::set_job(sub, [args] {
    gt::rl::GrpoConfig c = gt::rl::parse_grpo_config(args->config_json("the GRPO config"), args->config);
    args->adjust(c);
    args->check_inputs(c);
    args->announce(gt::rl::to_json(c), gt::train::TrainerKind::Grpo);
    const gt::rl::GrpoResult r = gt::rl::run_grpo(c, args->run_options());
    if (r.best_mean)
      std::cerr << "grpo: best held-out Mean " << *r.best_mean << " at step " << r.best_step << " (" << r.best_dir
                << ")\n";
    if (r.finished) std::cout << r.final_dir << "\n";
    return args->exit_status(r.finished);
  });
});

}  // namespace
