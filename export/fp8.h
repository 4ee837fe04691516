#pragma once
// The FP8 export (docs/export.md): the text decoder's attention and MLP linears as FP8 E4M3 codes with one f32
// scale per output channel (llm-compressor's FP8_DYNAMIC scheme), in the compressed-tensors layout that vLLM
// recognises from config.json; everything else in bf16, the vision/audio towers as they came.
#include <string>

#include <nlohmann/json.hpp>

#include "model/gemma4.h"

namespace gt::exporter {

// Whether the state entry `name` ("layers.3.mlp.up_proj.weight") is one of the quantized linears.
bool is_fp8_linear(const std::string& name);

// The `quantization_config` object of config.json for this model.
nlohmann::ordered_json fp8_quantization_config(const Gemma4Config& config);

// Writes DIR/config.json and DIR/model.safetensors. Errors name the tensor (a NaN weight has no FP8 code).
void write_fp8_model(const Gemma4& model, const std::string& dir);

}  // namespace gt::exporter
