// `gemma-tune sft --config configs/sft.json [--resume]`: supervised fine-tuning (train/sft.h). SIGINT and SIGTERM
// finish the current step and write a checkpoint before exiting (status 130), so an interrupted run loses no work.
#include <iostream>

#include "cli/command.h"
#include "train/sft.h"

namespace {

gt::cli::Registrar sft_reg("sft", [](CLI::App& app) {
  auto* sub = app.add_subcommand("sft", "Supervised fine-tuning on plan samples (loss on the model's tokens only)");
  auto config = std::make_shared<std::string>();
  auto resume = std::make_shared<bool>(false);
  auto stop_after = std::make_shared<int64_t>(0);
  auto device = std::make_shared<std::string>("cpu");
  sub->add_option("--config", *config, "SFT config (JSON), e.g. configs/sft.json")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_flag("--resume", *resume, "Continue from the latest checkpoint in the config's out_dir");
  sub->add_option("--stop-after", *stop_after, "Stop after this step (with a checkpoint there); --resume continues")
      ->check(CLI::NonNegativeNumber);
  gt::cli::add_device_option(sub, *device);
  gt::cli::set_job(sub, [=] {
    const gt::train::SftConfig c = gt::train::load_sft_config(*config);
    gt::train::SftRunOptions o;
    o.resume = *resume;
    o.stop_after = *stop_after;
    o.device = gt::cli::parse_device(*device);
    o.stop_flag = &gt::cli::stop_on_signals();
    o.progress = &std::cerr;
    const gt::train::SftResult r = gt::train::run_sft(c, o);
    if (r.finished) std::cout << c.out_dir << "/final\n";
    return r.finished || *stop_after > 0 ? 0 : 130;
  });
});

}  // namespace
