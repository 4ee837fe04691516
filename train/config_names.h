#pragma once
// The one table of Hugging Face / TRL config names (TrainingArguments, SFTConfig, GRPOConfig) that mean one of our
// run-config keys, so a TRL user's settings read as they are: Section (config_reader.h) reads a key under either
// name, docs/config.md lists them with both defaults, and a run prints where its settings differ from TRL's.
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace gt::train {

enum class TrainerKind : uint8_t { Sft, Grpo };

struct KeyName {
  const char* hf;    // their name: a flat key, or a dotted path for one inside our nesting ("loss.epsilon")
  const char* ours;  // our dotted key (the same as hf when only the values differ), or null when we have no such
                     // setting and `note` says what to use instead
  const char* origin;  // "HF" (TrainingArguments) or "TRL" (SFTConfig / GRPOConfig)
  // TRL's default in SFTConfig and in GRPOConfig as JSON text ("null": none), or null where the key is not theirs
  // for that trainer; docs/config.md shows them beside ours.
  const char* sft_default;
  const char* grpo_default;
  // Turns their value into ours (e.g. 3.0 epochs into 3); sets `why` when it has no counterpart.
  nlohmann::json (*convert)(const nlohmann::json& v, std::string& why) = nullptr;
  const char* note = "";  // how the meaning differs, shown where our value differs from their default
};

const std::vector<KeyName>& key_names();

// The settings of `effective` (a trainer's to_json) one per line, "  key = value", each with its HF / TRL name and
// their default where ours differs from it ("grad_clip = 0   [max_grad_norm: TRL 1.0; 0 turns clipping off]").
void print_settings(std::ostream& os, const nlohmann::json& effective, TrainerKind t);

}  // namespace gt::train
