// The trainer configs: the SFT and the GRPO reader (both through the shared reader of train/trainer_config.h), and
// what a run does next with an accepted config (its training identity and the config written back).
#include "fuzz/fuzz_support.h"
#include "rl/grpo_config.h"
#include "train/sft_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = gt::fuzz::write_scratch("config.json", gt::fuzz::as_text(data, size)).string();
  gt::fuzz::expect_value_or_error([&] {
    const gt::train::SftConfig c = gt::train::load_sft_config(path);
    (void)gt::train::training_identity(c).dump();
    (void)gt::train::to_json(c).dump();
  });
  gt::fuzz::expect_value_or_error([&] {
    const gt::rl::GrpoConfig c = gt::rl::load_grpo_config(path);
    (void)gt::rl::training_identity(c).dump();
    (void)gt::rl::to_json(c).dump();
  });
  return 0;
}
