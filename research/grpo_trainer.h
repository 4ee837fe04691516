#pragma once
// AutoResearch's GRPO adapter: a trial is a short `gemma-tune grpo` run (rl/grpo.h) from the start model (the
// published search tuned GRPO's data: num_plugins). Its own held-out eval (the config's data.heldout, if any) only
// logs; the trial's score is the search's fixed held-out eval, like every trainer's.
#include "research/config_trainer.h"

namespace gt::research {

class GrpoTrainer : public ConfigTrainer {
 public:
  explicit GrpoTrainer(TrialSettings s) : ConfigTrainer("grpo", std::move(s)) {}

 protected:
  void parse(const nlohmann::json& config) const override;
  RunOutcome train(const nlohmann::json& config, const std::atomic<bool>* stop, double time_limit_s) override;
};

}  // namespace gt::research
