#pragma once
// What every trainer's config holds (SftConfig and GrpoConfig are this plus their own keys), read, checked and
// written back in one place, so a shared key is read and checked the same way in both and each trainer's reader only
// reads its own keys.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/lora.h"
#include "train/config_reader.h"

namespace gt::train {

// The shared settings that decide none of the steps (no training identity holds them): the out folder, when the run
// evaluates, checkpoints and reports, and the memory trade of checkpoint_layers.
struct RunSettings {
  std::string out_dir;
  int64_t eval_every = 0, eval_max_samples = 0;
  int64_t save_every = 0, keep_last = 3;
  bool checkpoint_layers = false;
  std::string log_file = "metrics.jsonl";
  double progress_every_s = 1.0;

  std::string log_path() const;  // log_file inside out_dir
};

// The shared keys; a trainer's config constructor sets the defaults it differs in (SFT: epochs 3; GRPO: batch_size 4).
struct TrainerConfig : RunSettings {
  std::string path;  // the file it came from (named in errors)
  ModelSource model;
  std::string tokenizer;
  std::string train_data, heldout_data;
  int64_t epochs = 1;
  int64_t max_steps = 0;
  uint64_t seed = 42;
  int64_t batch_size = 1;
  double grad_clip = 0;
  OptimizerKind optimizer = OptimizerKind::Adafactor;
  AdafactorOptions adafactor;  // the one `optimizer` names is used
  AdamWOptions adamw;
  ScheduleKind schedule = ScheduleKind::None;
  int64_t warmup_steps = 0;
  // transformers' warmup_ratio: with warmup_steps 0, the warmup is ceil(warmup_ratio x the run's steps).
  double warmup_ratio = 0;
  std::optional<LoraConfig> lora;  // set: train only LoRA adapters on the frozen model (train/lora_config.h)

  // The peak learning rate (0 under Adafactor's relative_step, which has none).
  double lr() const { return optimizer_config().lr(); }
  OptimizerConfig optimizer_config() const { return {optimizer, adafactor, adamw}; }
  // The warmup of a run of `total` optimizer steps, as transformers' TrainingArguments.get_warmup_steps.
  int64_t warmup_for(int64_t total) const;
};

// The sections of a trainer's own keys that the shared ones share: the trainer reads its keys there, then calls
// done() on each (and on the root).
struct OpenSections {
  Section data, eval;
};

// How the shared keys differ between trainers: the optimizer's lr when none is given, and whether a missing
// "tokenizer" means model.dir's tokenizer.json (otherwise it is required).
struct SharedDefaults {
  double lr = 0;
  bool tokenizer_from_model_dir = false;
};

// Reads from `root` the required "model", "tokenizer", "data" ("train" required, "heldout") and "out_dir"; "epochs",
// "max_steps", "seed", "batch_size", "grad_clip", "optimizer", "schedule"; "every" and "max_samples" of "eval"; and
// "checkpoint", "checkpoint_layers", "log_file", "progress_every_s", "lora". `c`'s own values are the defaults.
OpenSections read_trainer_config(Section& root, TrainerConfig& c, const SharedDefaults& d);

// The shared settings that decide the steps (model identity, epochs, max_steps, seed, batch_size, grad_clip,
// optimizer, schedule, and lora when set), for a trainer's training_identity.
nlohmann::json trainer_identity(const TrainerConfig& c);
// Writes the rest of the shared keys into `j` (a trainer's training_identity): the model's path, the tokenizer,
// the data files and the run settings.
void write_trainer_config(nlohmann::json& j, const TrainerConfig& c);

}  // namespace gt::train
