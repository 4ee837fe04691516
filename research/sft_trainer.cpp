#include "research/sft_trainer.h"

#include "train/sft.h"
#include "train/sft_config.h"

namespace gt::research {

void SftTrainer::parse(const nlohmann::json& config) const { train::parse_sft_config(config, settings().source); }

ConfigTrainer::RunOutcome SftTrainer::train(const nlohmann::json& config, const std::atomic<bool>* stop,
                                            double time_limit_s) {
  const train::SftConfig c = train::parse_sft_config(config, settings().source);
  const train::SftResult r = train::run_sft(c, trial_options(stop, time_limit_s));
  RunOutcome out = outcome(r, {{"train_loss", r.last_loss}});
  if (r.heldout_loss) out.details["heldout_loss"] = *r.heldout_loss;
  return out;
}

}  // namespace gt::research
