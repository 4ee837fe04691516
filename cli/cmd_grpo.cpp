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
  auto config = std::make_shared<std::string>();
  auto resume = std::make_shared<bool>(false);
  auto stop_after = std::make_shared<int64_t>(0);
  auto device = std::make_shared<std::string>("cpu");
  sub->add_option("--config", *config, "GRPO config (JSON), e.g. configs/grpo.json")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_flag("--resume", *resume, "Continue from the latest checkpoint in the config's out_dir");
  sub->add_option("--stop-after", *stop_after, "Stop after this step (with a checkpoint there); --resume continues")
      ->check(CLI::NonNegativeNumber);
  gt::cli::add_device_option(sub, *device);
  gt::cli::set_job(sub, [=] {
    const gt::rl::GrpoConfig c = gt::rl::load_grpo_config(*config);
    gt::rl::GrpoRunOptions o;
    o.resume = *resume;
    o.stop_after = *stop_after;
    o.device = gt::cli::parse_device(*device);
    o.stop_flag = &gt::cli::stop_on_signals();
    o.progress = &std::cerr;
    const gt::rl::GrpoResult r = gt::rl::run_grpo(c, o);
    if (r.best_mean)
      std::cerr << "grpo: best held-out Mean " << *r.best_mean << " at step " << r.best_step << " (" << r.best_dir
                << ")\n";
    if (r.finished) std::cout << r.final_dir << "\n";
    return r.finished || *stop_after > 0 ? 0 : 130;
  });
});

}  // namespace
