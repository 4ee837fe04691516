#pragma once
// The SFT adapter of AutoResearch: a trial is a short `gemma-tune sft` run (train/sft.h) from the search's start
// model, its configuration applied to a base SFT config, scored by the fixed held-out eval.
//
// A parameter name is a dotted path into the SFT config ("optimizer.lr", "schedule.name",
// "schedule.warmup_steps", "grad_clip", "optimizer.weight_decay", "optimizer.beta1", "grad_accumulation", ...)
// and is checked by the SFT config's own strict reader, so a misspelt name is an error before the first trial.
// "data.num_plugins" and "data.candidate_params" re-synthesize the training data (research/trial_data.h).
//
// Per trial: <trial>/data/train.jsonl (when synthesized), <trial>/sft/ (the run: config.json, metrics.jsonl,
// final/, the exported model kept while the trial is the best; its checkpoints are deleted once it is done), and
// <trial>/eval/ (report.md, report.json, completions.jsonl). The budget's max_steps replaces the config's
// max_steps; its minutes become run_sft's time limit (the run exports where it stopped).
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "research/heldout.h"
#include "research/trainer.h"
#include "research/trial_data.h"

namespace gt::research {

struct SftTrialSettings {
  nlohmann::json base;  // an SFT config (train/sft_config.h) without out_dir: the start model is its "model"
  std::string source;   // how errors name it: "configs/research.json: 'sft'"
  std::optional<SynthSettings> synth;  // when set, every trial trains on a synthesized set, not base's data.train
  EvalSettings eval;
  std::ostream* progress = nullptr;
};

class SftTrainer : public Trainer {
 public:
  explicit SftTrainer(SftTrialSettings s);
  std::string name() const override { return "sft"; }
  void check(const nlohmann::json& params) const override;
  TrialResult run(const nlohmann::json& params, const std::filesystem::path& dir, const Budget& budget,
                  const std::atomic<bool>* stop) override;

  // The SFT config of a trial (exposed for tests): base, with every non-data parameter set at its path, out_dir
  // <dir>/sft, the budget's max_steps, and one checkpoint at the end.
  nlohmann::json trial_config(const nlohmann::json& params, const std::filesystem::path& dir,
                              const Budget& budget) const;

 private:
  SftTrialSettings s_;
  HeldoutScorer scorer_;
};

// Sets `value` at a dotted path ("optimizer.lr") of an object, creating objects on the way; an error when
// something on the way is not an object.
void set_path(nlohmann::json& j, const std::string& path, const nlohmann::json& value);

}  // namespace gt::research
