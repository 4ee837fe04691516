#pragma once
// AutoResearch's SFT adapter: a trial is a short `gemma-tune sft` run (train/sft.h) from the start model.
#include "research/config_trainer.h"

namespace gt::research {

class SftTrainer : public ConfigTrainer {
 public:
  explicit SftTrainer(TrialSettings s) : ConfigTrainer("sft", std::move(s)) {}

 protected:
  void parse(const nlohmann::json& config) const override;
  RunOutcome train(const nlohmann::json& config, const std::atomic<bool>* stop, double time_limit_s) override;
};

}  // namespace gt::research
