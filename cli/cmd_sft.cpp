// `gemma-tune sft --config configs/sft.json [--resume]`: supervised fine-tuning (train/sft.h). SIGINT and SIGTERM
// finish the current step and write a checkpoint before exiting (status 130), so an interrupted run loses no work.
#include <iostream>

#include "cli/command.h"
#include "train/sft.h"

namespace {

gt::cli::Registrar sft_reg("sft", [](CLI::App& app) {
  auto* sub = app.add_subcommand("sft", "Supervised fine-tuning on plan samples (loss on the model's tokens only)");
  const auto args = gt::cli::add_trainer_options(sub, "SFT config (JSON or YAML), e.g. configs/sft.json");
  gt::cli::set_job(sub, [args] {
    gt::train::SftConfig c = gt::train::parse_sft_config(args->config_json("the SFT config"), args->config);
    args->adjust(c);
    args->check_inputs(c);
    args->announce(gt::train::to_json(c), gt::train::TrainerKind::Sft);
    const gt::train::SftResult r = gt::train::run_sft(c, args->run_options());
    if (r.finished) std::cout << c.out_dir << "/final\n";
    return args->exit_status(r.finished);
  });
});

}  // namespace
