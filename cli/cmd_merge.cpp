// `gemma-tune merge`: fold a LoRA adapter into its base model and write the result as a Hugging Face folder
// (docs/lora.md).
#include <filesystem>
#include <iostream>

#include "base/error.h"
#include "cli/command.h"
#include "model/gemma4.h"
#include "train/checkpoint.h"

namespace {

gt::cli::Registrar merge_reg("merge", [](CLI::App& app) {
  auto* sub = app.add_subcommand("merge", "Write base + scale * B A (a LoRA adapter merged) as a Hugging Face folder");
  auto model = std::make_shared<std::string>();
  auto adapter = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto tokenizer = std::make_shared<std::string>();
  sub->add_option("--model", *model, "The base model folder the adapter was trained on")->required();
  sub->add_option("--adapter", *adapter, "The adapter folder (adapter_config.json, adapter_model.safetensors)")
      ->required();
  sub->add_option("--out", *out, "Folder to write (replaced whole, never left half-written)")->required();
  sub->add_option("--tokenizer", *tokenizer, "tokenizer.json to put beside the weights; default: the base's");
  gt::cli::set_job(sub, [=] {
    namespace fs = std::filesystem;
    const std::string tok = tokenizer->empty() ? (fs::path(*model) / "tokenizer.json").string() : *tokenizer;
    GT_CHECK(fs::exists(tok), *model, ": no tokenizer.json; name one with --tokenizer");
    gt::LoadOptions lo;
    lo.log = [](const std::string& m) { std::cerr << "merge: " << m << "\n"; };
    gt::Gemma4 m = gt::Gemma4::load(*model, lo);
    m.set_adapter(gt::LoraAdapter::load(*adapter, m));
    const size_t linears = m.adapter()->state().size() / 2;
    m.merge_adapter();
    gt::train::export_hf(m, tok, *out, *model);
    std::cerr << "merge: folded " << linears << " adapted linears into " << *out << "\n";
    return 0;
  });
});

}  // namespace
