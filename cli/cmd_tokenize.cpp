// `gemma-tune tokenize`: the ids of a text, as a JSON array. `gemma-tune tokenizer gemma4-from-gemma3 IN OUT`: a
// Gemma-4-named tokenizer.json made from Gemma 3's. `gemma-tune tokenizer train`: a small Gemma-shaped tokenizer
// learned from plan samples (data/bpe_train.h).
#include <iostream>
#include <memory>

#include "base/files.h"
#include "cli/command.h"
#include "data/bpe_train.h"
#include "data/gemma4_tokenizer.h"
#include "data/plan_sample.h"
#include "data/tokenizer.h"

namespace {

gt::cli::Registrar tokenize_reg("tokenize", [](CLI::App& app) {
  struct Options {
    std::string tokenizer, text, text_file;
    bool bos = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("tokenize", "Print the token ids of a text as a JSON array");
  sub->add_option("--tokenizer", o->tokenizer, "tokenizer.json (Hugging Face format)")->required();
  auto* input = sub->add_option_group("input", "The text to encode");
  input->add_option("--text", o->text, "The text itself");
  input->add_option("--text-file", o->text_file, "A file holding the text (its bytes, as they are)");
  input->require_option(1);
  sub->add_flag("--bos", o->bos, "Add the post-processor's special tokens (for Gemma: <bos> first)");
  gt::cli::set_job(sub, [o] {
    gt::data::Tokenizer tok = gt::data::Tokenizer::from_file(o->tokenizer);
    std::string text = o->text_file.empty() ? o->text : gt::read_text_file(o->text_file);
    std::vector<int32_t> ids = tok.encode(text, o->bos);
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(ids[i]);
    }
    std::cout << out << "]\n";
    return 0;
  });
});

gt::cli::Registrar tokenizer_reg("tokenizer", [](CLI::App& app) {
  struct Options {
    std::string in, out, data;
    gt::data::BpeTrainOptions train;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("tokenizer", "Tokenizer utilities");
  sub->require_subcommand(1);
  auto* g4 = sub->add_subcommand("gemma4-from-gemma3",
                                 "Write a tokenizer.json with Gemma 4's special-token names, made from Gemma 3's "
                                 "(same vocabulary, merges and ids)");
  g4->add_option("IN", o->in, "Gemma 3 tokenizer.json")->required();
  g4->add_option("OUT", o->out, "Where to write the Gemma 4 one")->required();
  auto* train = sub->add_subcommand("train",
                                    "Learn a small BPE tokenizer.json (Gemma's format and special-token ids) from "
                                    "plan samples, each rendered in full as SFT sees it");
  train->add_option("--data", o->data, "Plan samples (JSON Lines)")->required();
  train->add_option("--vocab", o->train.vocab_size, "Vocabulary size, reserved ids and byte pieces included")
      ->capture_default_str()
      ->check(gt::cli::at_least(1));
  train->add_option("--min-frequency", o->train.min_frequency, "Learn no merge seen fewer times than this")
      ->capture_default_str()
      ->check(gt::cli::at_least(1));
  train->add_option("--out", o->out, "Where to write tokenizer.json (atomically)")->required();
  gt::cli::set_job(sub, [o, g4] {
    if (g4->parsed()) {
      gt::data::write_gemma4_tokenizer_from_gemma3(o->in, o->out);
      std::cout << o->out << "\n";
      return 0;
    }
    auto samples = gt::data::read_samples(o->data);
    auto r = gt::data::train_bpe(gt::data::plan_sample_texts(samples), o->train);
    gt::write_file_atomically(o->out, r.json);
    std::cout << "vocabulary " << r.vocab_size << " (" << r.alphabet << " characters, " << r.merges << " merges) from "
              << samples.size() << " samples -> " << o->out << "\n";
    return 0;
  });
});

}  // namespace
