// `gemma-tune export SOURCE --out DIR [--format hf|fp8|gguf] [--gguf-type bf16|q8_0|f32]` (docs/export.md): a
// transformers folder or a training checkpoint written as a transformers folder, an FP8 folder for vLLM, or a GGUF
// file for llama.cpp.
#include <cctype>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/command.h"
#include "export/export.h"

namespace {

namespace ex = gt::exporter;

const std::map<std::string, ex::Format> kFormats = {
    {"hf", ex::Format::HF}, {"fp8", ex::Format::FP8}, {"gguf", ex::Format::GGUF}};
const std::map<std::string, ex::GgufType> kGgufTypes = {
    {"bf16", ex::GgufType::BF16}, {"q8_0", ex::GgufType::Q8_0}, {"f32", ex::GgufType::F32}};

// The names as given; checked against the maps' keys by CLI11 (whose own enum transformer prints the enum's values
// as raw bytes in help and errors).
struct ExportArgs {
  std::string source, out, format = "hf", gguf_type = "bf16";
};

template <class T>
std::vector<std::string> names(const std::map<std::string, T>& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

gt::cli::Registrar export_reg("export", [](CLI::App& app) {
  auto* sub = app.add_subcommand(
      "export", "Write a model folder or a training checkpoint as a transformers folder, FP8 (vLLM) or GGUF (llama.cpp)");
  auto a = std::make_shared<ExportArgs>();
  sub->add_option("source", a->source,
                  "A transformers folder (e.g. OUT/final), a run folder OUT, OUT/checkpoints, its latest file or a "
                  "step-*.h5 checkpoint")
      ->required();
  sub->add_option("--out", a->out, "Output folder (for gguf: a .gguf file, or a folder for model-<type>.gguf)")
      ->required();
  sub->add_option("--format", a->format, "hf (default), fp8 (compressed-tensors FP8 E4M3), gguf")
      ->check(CLI::IsMember(names(kFormats), CLI::ignore_case));
  sub->add_option("--gguf-type", a->gguf_type, "Matrix type of a gguf export: bf16 (default), q8_0, f32")
      ->check(CLI::IsMember(names(kGgufTypes), CLI::ignore_case));
  gt::cli::set_job(sub, [a] {
    const ex::ExportSource s = ex::open_export_source(a->source, &std::cerr);
    std::cerr << "export: " << s.what << "\n";
    // The check accepted any case; the maps' keys are lower case.
    auto lower = [](std::string v) {
      for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return v;
    };
    std::cout << ex::run_export(s, a->out, {kFormats.at(lower(a->format)), kGgufTypes.at(lower(a->gguf_type))}) << "\n";
    return 0;
  });
});

}  // namespace
