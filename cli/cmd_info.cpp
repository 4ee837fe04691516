// `gemma-tune info`: what this build is and how many threads it will use; with --model, what a model folder holds
// and what the commands will make of it (a check to run right after downloading one).
#include <cblas.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "autograd/parallel.h"
#include "cli/command.h"
#include "data/tokenizer.h"
#include "model/generate.h"

namespace {

namespace fs = std::filesystem;

void describe_model(const std::string& dir) {
  gt::cli::require_model_dir(dir, "--model");
  gt::LoadOptions lo;
  lo.log = [](const std::string& m) { std::cout << "  " << m << "\n"; };
  std::cout << "model " << dir << "\n";
  // Loading maps the file and reads no weight (docs/memory.md), so this is quick even for E2B.
  const gt::Gemma4 model = gt::Gemma4::load(dir, lo);
  const gt::Gemma4Config& c = model.config();
  std::cout << "  layers " << c.num_layers << ", hidden " << c.hidden_size << ", heads " << c.num_heads
            << ", vocab " << c.vocab_size << ", sliding window " << c.sliding_window << ", per-layer inputs "
            << c.ple_dim << ", KV-shared layers " << c.num_kv_shared_layers << "\n";
  std::map<std::string, int64_t> by_dtype;
  int64_t total = 0;
  for (const auto& [name, t] : model.state().items()) {
    by_dtype[gt::dtype_name(t.dtype())] += t.numel();
    total += t.numel();
  }
  std::cout << "  text parameters " << total;
  for (const auto& [dtype, n] : by_dtype) std::cout << ", " << n << " in " << dtype;
  std::cout << "; " << model.passthrough().size() << " other tensors kept as they are\n";
  const fs::path tok = fs::path(dir) / "tokenizer.json";
  if (fs::exists(tok))
    std::cout << "  tokenizer.json: " << gt::data::Tokenizer::from_file(tok.string()).vocab_size() << " tokens\n";
  else
    std::cout << "  tokenizer.json: missing (--prompt, training data and eval need it; --prompt-ids does not)\n";
  std::cout << "  chat_template.jinja: " << (fs::exists(fs::path(dir) / "chat_template.jinja") ? "present" : "missing")
            << " (gemma-tune renders the Gemma 4 format itself, docs/chat.md)\n";
  const gt::SamplingOptions s = gt::sampling_from(dir);
  std::cout << "  generation: ";
  if (s.temperature == 0)
    std::cout << "greedy";
  else
    std::cout << "temperature " << s.temperature << ", top-k " << s.top_k << ", top-p " << s.top_p;
  std::cout << "; stop ids";
  for (int64_t id : gt::stop_ids_from(dir)) std::cout << " " << id;
  std::cout << " (docs/generation.md)\n";
}

gt::cli::Registrar reg("info", [](CLI::App& app) {
  auto* sub = app.add_subcommand("info", "Show the build, BLAS and thread settings, or what a model folder holds");
  auto model = std::make_shared<std::string>();
  sub->add_option("--model", *model, "A Hugging Face model folder to check (config, weights, tokenizer, generation)");
  gt::cli::set_job(sub, [model] {
    std::cout << "gemma-tune " << GT_VERSION << "\n"
              << "threads: " << gt::num_threads() << " (set GT_NUM_THREADS to change)\n"
              << "blas: " << openblas_get_config() << ", kernels for " << openblas_get_corename() << "\n";
    if (!model->empty()) describe_model(*model);
    return 0;
  });
});

}  // namespace
