#pragma once
// `gemma-tune export` (docs/export.md): a model, from a transformers folder or from a training checkpoint, written
// as a transformers folder (bf16/f32 as stored, or FP8 for vLLM) or as one GGUF file for llama.cpp.
#include <cstdint>
#include <ostream>
#include <string>

#include "export/gguf_gemma.h"
#include "model/gemma4.h"

namespace gt::exporter {

enum class Format : uint8_t { HF, FP8, GGUF };

struct ExportOptions {
  Format format = Format::HF;
  GgufType gguf_type = GgufType::BF16;
};

// What an export reads: the model, its tokenizer.json, and the folder that holds the tokenizer config, chat
// template and generation config to carry over (may lack them, or be empty).
struct ExportSource {
  Gemma4 model;
  std::string tokenizer_json, source_dir;
  std::string what;  // one line for the log: "transformers folder X", "checkpoint X (step N)"
};

// SOURCE is a transformers folder (config.json with model.safetensors or its index), a training state
// (OUT/checkpoints/step-*.h5), the `latest` file naming one, the checkpoints folder or the run folder OUT. For a
// checkpoint, the model and tokenizer are those of the run's saved settings (OUT/run_config.json, or
// OUT/config.json from runs before it was renamed), with the checkpoint's weights. Errors name the file at fault.
ExportSource open_export_source(const std::string& source, std::ostream* log);

// Writes the export and returns what it wrote: the folder, or for GGUF the file (`out` itself when it ends in
// .gguf, else OUT/model-<type>.gguf). Everything is written under a temporary name and renamed into place.
std::string run_export(const ExportSource& source, const std::string& out, const ExportOptions& options);

}  // namespace gt::exporter
