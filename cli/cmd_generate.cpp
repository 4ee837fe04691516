// `gemma-tune generate`: sample from a model directory, streaming text as it is made, or printing new token ids.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "base/error.h"
#include "cli/command.h"
#include "data/chat_format.h"
#include "data/tokenizer.h"
#include "model/generate.h"

namespace {

struct Args {
  std::string model, adapter, prompt, system, prompt_ids, format = "text", device = "cpu";
  bool think = false;
  gt::cli::LogLevel log = gt::cli::LogLevel::Normal;
  int64_t max_new_tokens = 256, num_samples = 1;
  // Unset: the model folder's generation_config.json decides (gt::sampling_from).
  std::optional<double> temperature, top_p;
  std::optional<int64_t> top_k;
  uint64_t seed = 0;
};

// The folder's sampling settings with the flags on top. A top-k or top-p flag asks for sampling, so on a folder
// that says greedy it samples at temperature 1 unless --temperature says otherwise.
gt::SamplingOptions sampling_of(const Args& a) {
  gt::SamplingOptions s = gt::sampling_from(a.model);
  if ((a.top_k || a.top_p) && s.temperature == 0) s.temperature = 1.0;
  if (a.temperature) s.temperature = *a.temperature;
  if (a.top_k) s.top_k = *a.top_k;
  if (a.top_p) s.top_p = *a.top_p;
  s.seed = a.seed;
  return s;
}

std::string describe(const gt::SamplingOptions& s) {
  if (s.temperature == 0) return "greedy";
  std::ostringstream os;
  os << "temperature " << s.temperature << ", top-k " << (s.top_k ? std::to_string(s.top_k) : "off") << ", top-p "
     << s.top_p << ", seed " << s.seed;
  return os.str();
}

std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> ids;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    try {
      size_t used = 0;
      ids.push_back(std::stoll(tok, &used));
      GT_CHECK(used == tok.size(), "");
    } catch (...) {
      gt::fail("--prompt-ids: '", tok, "' is not an integer id");
    }
  }
  GT_CHECK(!ids.empty(), "--prompt-ids: no ids given");
  return ids;
}

int run(const Args& a) {
  namespace fs = std::filesystem;
  gt::LoadOptions lo;
  if (a.log != gt::cli::LogLevel::Quiet) lo.log = [](const std::string& m) { std::cerr << m << "\n"; };
  gt::cli::require_model_dir(a.model, "--model");
  gt::Gemma4 model = gt::Gemma4::load(a.model, lo);
  if (!a.adapter.empty()) model.set_adapter(gt::LoraAdapter::load(a.adapter, model));
  model.to(gt::cli::parse_device(a.device));
  const fs::path tok_path = fs::path(a.model) / "tokenizer.json";
  std::unique_ptr<gt::data::Tokenizer> tok;
  if (fs::exists(tok_path)) tok = std::make_unique<gt::data::Tokenizer>(gt::data::Tokenizer::from_file(tok_path));

  std::vector<int64_t> prompt;
  if (!a.prompt_ids.empty()) {
    prompt = parse_ids(a.prompt_ids);
  } else {
    GT_CHECK(tok, a.model, ": no tokenizer.json, so --prompt cannot be encoded (give --prompt-ids instead)");
    nlohmann::json messages = nlohmann::json::array();
    if (!a.system.empty()) messages.push_back({{"role", "system"}, {"content", a.system}});
    messages.push_back({{"role", "user"}, {"content", a.prompt}});
    gt::data::RenderOptions ro;
    ro.enable_thinking = a.think;
    const auto enc = gt::data::encode_chat(*tok, gt::data::render_chat(gt::data::conversation_from_json(messages), ro),
                                           gt::data::MaskRule::AllowEmpty, "--prompt");
    prompt.assign(enc.ids.begin(), enc.ids.end());
  }
  GT_CHECK(a.format == "text" || a.format == "ids", "--format must be text or ids, got ", a.format);
  GT_CHECK(a.format == "ids" || tok, a.model, ": no tokenizer.json, so text cannot be printed (use --format ids)");

  gt::GenerateOptions o;
  o.max_new_tokens = a.max_new_tokens;
  o.num_samples = a.num_samples;
  o.sampling = sampling_of(a);
  if (a.log != gt::cli::LogLevel::Quiet) std::cerr << "sampling: " << describe(o.sampling) << "\n";
  o.stop_ids = gt::stop_ids_from(a.model);
  if (tok) o.vocab_limit = tok->vocab_size();
  // One sample streams token by token; several are printed one after another once made.
  if (a.format == "text" && a.num_samples == 1)
    o.on_token = [&](int64_t, int64_t t) {
      const int32_t id = static_cast<int32_t>(t);
      std::cout << tok->decode(std::span<const int32_t>(&id, 1)) << std::flush;
    };
  const auto gens = gt::generate(model, prompt, o);
  for (size_t s = 0; s < gens.size(); ++s) {
    if (a.format == "ids") {
      std::cout << nlohmann::json(gens[s].tokens).dump() << "\n";
    } else if (a.num_samples == 1) {
      std::cout << "\n";
    } else {
      std::vector<int32_t> ids(gens[s].tokens.begin(), gens[s].tokens.end());
      std::cout << "=== sample " << s << "\n" << tok->decode(ids) << "\n";
    }
  }
  return 0;
}

gt::cli::Registrar reg("generate", [](CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("generate", "Generate from a model directory (KV cache, sampling)");
  sub->add_option("--model", a->model, "Hugging Face model directory")->required();
  sub->add_option("--adapter", a->adapter, "A LoRA adapter folder (peft's layout) to apply on top of --model");
  auto* p = sub->add_option("--prompt", a->prompt, "User message, rendered with the Gemma 4 chat format");
  auto* pi = sub->add_option("--prompt-ids", a->prompt_ids, "Prompt token ids, comma-separated (used as given)");
  p->excludes(pi);
  sub->add_option("--system", a->system, "System prompt (with --prompt)")->needs(p);
  sub->add_flag("--think", a->think, "Thinking on (with --prompt)")->needs(p);
  sub->add_option("--max-new-tokens", a->max_new_tokens, "Limit on new tokens")->capture_default_str();
  sub->add_option("--temperature", a->temperature,
                  "0 = greedy (default: the model's generation_config.json, greedy without one)")
      ->check(gt::cli::at_least(0));
  sub->add_option("--top-k", a->top_k, "0 = off (default: generation_config.json)")->check(gt::cli::at_least(0));
  sub->add_option("--top-p", a->top_p, "1 = off (default: generation_config.json)")->check(gt::cli::above(0));
  sub->add_option("--seed", a->seed, "Sampling seed")->capture_default_str();
  gt::cli::add_device_option(sub, a->device);
  gt::cli::add_log_level_options(sub, a->log);
  sub->add_option("--num-samples", a->num_samples, "Samples of the prompt (they share its prefill)")
      ->capture_default_str();
  sub->add_option("--format", a->format, "text (streamed) or ids (a JSON array of new ids per sample)")
      ->capture_default_str();
  gt::cli::set_job(sub, [a, p, pi] {
    GT_CHECK(p->count() + pi->count() == 1, "generate: give exactly one of --prompt and --prompt-ids");
    return run(*a);
  });
});

}  // namespace
