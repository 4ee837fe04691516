#include "research/grpo_trainer.h"

#include "rl/grpo.h"
#include "rl/grpo_config.h"

namespace gt::research {

void GrpoTrainer::parse(const nlohmann::json& config) const { rl::parse_grpo_config(config, settings().source); }

ConfigTrainer::RunOutcome GrpoTrainer::train(const nlohmann::json& config, const std::atomic<bool>* stop,
                                             double time_limit_s) {
  const rl::GrpoConfig c = rl::parse_grpo_config(config, settings().source);
  const rl::GrpoResult r = rl::run_grpo(c, trial_options(stop, time_limit_s));
  RunOutcome out = outcome(r, {{"train_reward", r.last_reward}});
  if (r.heldout_mean) out.details["grpo_heldout_mean"] = *r.heldout_mean;
  return out;
}

}  // namespace gt::research
