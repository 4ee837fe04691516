#pragma once
// The SFT run configuration (a JSON or YAML file, `configs/sft.json` holds the published defaults of docs/spec.md
// §4). Each key may also be given by its Hugging Face / TRL name (train/config_names.h, docs/config.md).
//
// Reading is strict: an unknown key, a value of the wrong JSON type or out of range is an error that names the file
// and the key ("configs/sft.json: 'optimizer.lr' must be a number, got string"). A missing key takes the default
// listed below. Paths are taken as written, relative to the working directory; `log_file` is relative to `out_dir`.
//
//   model        {"dir": D} a Hugging Face folder, or {"config": F, "init_seed": 0, "init_std": 0.02} random weights
//                for a config.json; "storage": "keep" | "f32" | "bf16" (parameter dtype, gemma4.h)
//   tokenizer    tokenizer.json (required)
//   data         {"train": F (required), "heldout": F (optional), "max_length": 1024,
//                 "truncation": "prompt_left" | "keep_start" | "drop", and for TRL-format lines (docs/data.md)
//                 "completion_only_loss": true, "assistant_only_loss": false,
//                 "chat_template_kwargs": {"enable_thinking": null (on where the line has reasoning),
//                 "preserve_thinking": false}}
//   out_dir      (required) checkpoints/, metrics, final/ (the exported Hugging Face folder)
//   epochs 3, max_steps 0 (0: no limit; else training stops there and schedules end there), seed 42
//   batch_size 1 (sequences in one padded forward), grad_accumulation 1 (forwards a step), packing false (true:
//   samples packed whole into sequences of at most max_length tokens, train/sft_packing.h), packing_strategy "bfd"
//   (the only one), grad_clip 0 (max global norm, 0: off)
//   optimizer    {"name": "adafactor", "lr": 2e-5, "eps1", "eps2", "clip_threshold", "decay_rate", "beta1": null,
//                 "weight_decay", "scale_parameter": false, "relative_step": false, "warmup_init": false} or
//                {"name": "adamw", "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"}; both also take
//                "master_weights": true and "rounding": "nearest" | "stochastic" (optimizer.h)
//   schedule     {"name": "none" | "linear" | "cosine", "warmup_steps": 0, "warmup_ratio": 0 (one of the two)}
//   eval         {"every": 0 (steps; 0: only at the start and the end), "max_samples": 0 (0: all)}
//   checkpoint   {"every": 0 (steps; 0: only at the end), "keep_last": 3 (0: keep all)}
//   checkpoint_layers false, log_file "metrics.jsonl", progress_every_s 1 (seconds between progress lines)
//   lora         absent (full fine-tuning), or {"r", "lora_alpha", "lora_dropout", "use_rslora", "target_modules"}:
//                train only LoRA adapters on the frozen model (train/lora_config.h, docs/lora.md)
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/trl_format.h"
#include "model/gemma4.h"
#include "train/trainer_config.h"

namespace gt::train {

// What to do with a sample longer than max_length (the prompt is every token before the first trainable one, the
// target the rest):
//  PromptLeft: keep BOS and drop prompt tokens right after it until the whole target fits; when BOS and the target
//    alone are longer than max_length, keep the first max_length tokens instead (the target's tail is cut).
//  KeepStart: keep the first max_length tokens (TRL's truncation_mode "keep_start").
//  Drop: leave the sample out.
// A sample left without a trainable token is dropped. Every case is counted in the data report.
enum class Truncation : uint8_t { PromptLeft, KeepStart, Drop };

const char* truncation_name(Truncation t);

struct SftConfig : TrainerConfig {
  SftConfig() { epochs = 3; }

  int64_t max_length = 1024;
  Truncation truncation = Truncation::PromptLeft;
  data::LineRendering rendering;
  int64_t grad_accumulation = 1;
  // Several samples a sequence, best-fit decreasing (TRL's "bfd"; docs/config.md, Packing).
  bool packing = false;
};

SftConfig parse_sft_config(const nlohmann::json& j, const std::string& path);
SftConfig load_sft_config(const std::string& path);

// The settings that decide the sequence of training steps, in a canonical form: a resumed run must match the
// run that wrote its checkpoint here. Paths are left out (a moved file is the same file; the data and the model
// are compared by content elsewhere), and so is what only changes when things are logged or saved (eval,
// checkpoint, log_file, progress_every_s) or how memory is traded for time (checkpoint_layers).
nlohmann::json training_identity(const SftConfig& c);
// The config with every default filled in, as the run used it (written to the out dir).
nlohmann::json to_json(const SftConfig& c);

}  // namespace gt::train
