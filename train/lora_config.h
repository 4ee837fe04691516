#pragma once
// The `lora` section of a trainer's config (docs/lora.md) and what a LoRA run writes instead of a full model.
//
//   lora   {"r": 8, "lora_alpha": 8, "lora_dropout": 0.0, "use_rslora": false,
//           "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}
//          (a list of module names or one regex string, matched as peft matches them); absent: full fine-tuning.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/gemma4.h"
#include "model/lora.h"
#include "train/config_reader.h"

namespace gt::train {

LoraConfig read_lora_section(Section& lora);
nlohmann::json lora_json(const LoraConfig& c);  // the section with every default filled in

// The adapter of `model` as peft's folder (adapter_config.json, adapter_model.safetensors), assembled beside `dir`
// and renamed into place as export_hf does; base_model becomes base_model_name_or_path.
void export_adapter(const Gemma4& model, const std::string& dir, const std::string& base_model);

}  // namespace gt::train
