#pragma once
// The adapters of AutoResearch for trainers driven by a JSON config (SFT, GRPO): a trial is a short run of the
// trainer from the search's start model, its configuration applied to a base config, scored by the fixed held-out
// eval (research/heldout.h).
//
// A parameter name is a dotted path into the trainer's config ("optimizer.lr", "schedule.name", "grad_clip",
// "generation.temperature", "loss.beta", ...) and is checked by that trainer's own strict reader, so a misspelt name
// is an error before the first trial. "data.num_plugins" and "data.candidate_params" re-synthesize the training
// data (research/trial_data.h) into the config's data.train.
//
// Per trial: <trial>/data/train.jsonl (when synthesized), <trial>/<trainer>/ (the run: run_config.json, metrics.jsonl,
// final/, the exported model kept while the trial is the best; its checkpoints are deleted once it is done), and
// <trial>/eval/ (report.md, report.json, completions.jsonl). The budget's max_steps replaces the config's
// max_steps; its minutes become the trainer's time limit (the run exports where it stopped).
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "research/heldout.h"
#include "research/trainer.h"
#include "research/trial_data.h"
#include "train/training_run.h"

namespace gt::research {

struct TrialSettings {
  nlohmann::json base;                 // the trainer's config without out_dir: the start model is its "model"
  std::string source;                  // how errors name it: "configs/research.json: 'sft'"
  std::optional<SynthSettings> synth;  // when set, every trial trains on a synthesized set, not base's data.train
  EvalSettings eval;
  std::ostream* progress = nullptr;
};

class ConfigTrainer : public Trainer {
 public:
  ConfigTrainer(std::string name, TrialSettings s);
  std::string name() const override { return name_; }
  void check(const nlohmann::json& params) const override;
  TrialResult run(const nlohmann::json& params, const std::filesystem::path& dir, const Budget& budget,
                  const std::atomic<bool>* stop) override;

  // A trial's config (exposed for tests): base, with every non-data parameter set at its path, out_dir
  // <dir>/<name>, the budget's max_steps, and one checkpoint at the end.
  nlohmann::json trial_config(const nlohmann::json& params, const std::filesystem::path& dir,
                              const Budget& budget) const;

 protected:
  struct RunOutcome {
    bool ended = false;  // reached its steps or its time limit, and exported <out_dir>/final
    int64_t steps = 0;
    nlohmann::json details = nlohmann::json::object();
  };
  // The trainer's strict reader (throws naming `source` and the key).
  virtual void parse(const nlohmann::json& config) const = 0;
  virtual RunOutcome train(const nlohmann::json& config, const std::atomic<bool>* stop, double time_limit_s) = 0;
  const TrialSettings& settings() const { return s_; }
  // How a trial's run is started: a fresh run, stopped by `stop` or the time limit, reporting to the progress.
  train::RunOptions trial_options(const std::atomic<bool>* stop, double time_limit_s) const;
  // A run's outcome: ended when it finished or ran out of time, with the trainer's `details`.
  static RunOutcome outcome(const train::RunResult& r, nlohmann::json details);

 private:
  std::string name_;
  TrialSettings s_;
  HeldoutScorer scorer_;
};

// Sets `value` at a dotted path ("optimizer.lr") of an object, creating objects on the way; an error when
// something on the way is not an object.
void set_path(nlohmann::json& j, const std::string& path, const nlohmann::json& value);

}  // namespace gt::research
