#pragma once
// Gemma 4 as llama.cpp reads it from GGUF (architecture "gemma4"; docs/export.md lists the keys, the tensor names
// and what llama.cpp would need beyond them).
#include <cstdint>
#include <string>

#include "model/gemma4.h"

namespace gt::exporter {

enum class GgufType : uint8_t { F32, BF16, Q8_0 };
const char* gguf_type_name(GgufType t);  // "f32", "bf16", "q8_0"

// The GGUF tensor name of a state entry ("layers.3.mlp.up_proj.weight" -> "blk.3.ffn_up.weight"); an error for a
// name it has no mapping for.
std::string gguf_tensor_name(const std::string& state_name);

// Writes the model (text decoder only: the towers belong in llama.cpp's separate mmproj file), the tokenizer of
// `tokenizer_json` and the chat template of `source_dir` (chat_template.jinja, or tokenizer_config.json's
// chat_template) to `path`. Vectors and scalars are F32; matrices are `type`, except that Q8_0 falls back to BF16 for
// a matrix whose rows are not a multiple of 32 values.
void write_gemma_gguf(const Gemma4& model, const std::string& tokenizer_json, const std::string& source_dir,
                      const std::string& path, GgufType type);

}  // namespace gt::exporter
