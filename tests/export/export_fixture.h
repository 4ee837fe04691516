#pragma once
// A tiny transformers folder for export tests: tests/train's tiny config (per-layer embeddings, KV sharing, the
// double-wide MLP, sliding and full layers, softcap) with random weights stored in bf16, the byte tokenizer and a
// chat template.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "model/gemma4.h"
#include "support/byte_tokenizer.h"
#include "support/files.h"
#include "train/sft_fixture.h"

namespace gt::testing {

struct TinyHfFolder {
  TempDir dir;
  std::string src = (dir.path / "src").string();
  TinyHfFolder() {
    const std::string cfg = dir.write("config.json", tiny_model_config().dump(2)).string();
    Gemma4::random(load_gemma4_config(cfg), 11, 0.08).save(src, DType::BF16);
    std::ofstream(std::filesystem::path(src) / "tokenizer.json") << byte_tokenizer_json();
    std::ofstream(std::filesystem::path(src) / "chat_template.jinja") << "{{ bos_token }}{% for m in messages %}x{% endfor %}";
  }
  std::string path(const std::string& name) const { return (dir.path / name).string(); }
};

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace gt::testing
