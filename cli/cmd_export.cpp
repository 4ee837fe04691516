// `gemma-tune export SOURCE --out DIR [--format hf|fp8|gguf] [--gguf-type bf16|q8_0|f32]` (docs/export.md): a
// transformers folder or a training checkpoint written as a transformers folder, an FP8 folder for vLLM, or a GGUF
// file for llama.cpp.
#include <iostream>

#include "cli/command.h"
#include "export/export.h"

namespace {

namespace ex = gt::exporter;

struct ExportArgs {
  std::string source, out;
  ex::Format format = ex::Format::HF;
  ex::GgufType gguf_type = ex::GgufType::BF16;
};

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
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, ex::Format>{{"hf", ex::Format::HF}, {"fp8", ex::Format::FP8}, {"gguf", ex::Format::GGUF}},
          CLI::ignore_case));
  sub->add_option("--gguf-type", a->gguf_type, "Matrix type of a gguf export: bf16 (default), q8_0, f32")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, ex::GgufType>{
              {"bf16", ex::GgufType::BF16}, {"q8_0", ex::GgufType::Q8_0}, {"f32", ex::GgufType::F32}},
          CLI::ignore_case));
  gt::cli::set_job(sub, [a] {
    const ex::ExportSource s = ex::open_export_source(a->source, &std::cerr);
    std::cerr << "export: " << s.what << "\n";
    std::cout << ex::run_export(s, a->out, {a->format, a->gguf_type}) << "\n";
    return 0;
  });
});

}  // namespace
