// `gemma-tune serve`: an OpenAI-compatible HTTP server over a model folder (docs/serve.md).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <list>
#include <thread>

#include "base/error.h"
#include "cli/command.h"
#include "data/chat_format.h"
#include "model/generate.h"
#include "serve/server.h"

namespace {

struct Args {
  std::string model, name, host = "127.0.0.1", port_file, device = "cpu";
  std::vector<std::string> adapters;
  int port = 8000;
  gt::serve::ServeLimits limits;
  gt::cli::LogLevel log = gt::cli::LogLevel::Normal;
};

int run(const Args& a) {
  namespace fs = std::filesystem;
  gt::cli::require_model_dir(a.model, "--model");
  const fs::path tok_path = fs::path(a.model) / "tokenizer.json";
  GT_CHECK(fs::exists(tok_path), a.model, ": no tokenizer.json, so chat messages cannot be encoded");
  const auto tok = gt::data::Tokenizer::from_file(tok_path);
  std::ostream* progress = gt::cli::progress_stream(a.log);
  gt::LoadOptions lo;
  lo.log = [progress](const std::string& m) { if (progress) *progress << m << "\n"; };
  gt::Gemma4 base = gt::Gemma4::load(a.model, lo);
  base.to(gt::cli::parse_device(a.device));

  gt::serve::ServerOptions o;
  o.host = a.host;
  o.port = a.port;
  o.limits = a.limits;
  o.models.emplace_back(a.name.empty() ? a.model : a.name, &base);
  // Copies of the base share its weights; each holds its own adapter (model/gemma4.h).
  std::list<gt::Gemma4> adapted;
  for (const std::string& spec : a.adapters) {
    const size_t eq = spec.find('=');
    GT_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(), "--adapter: expected NAME=DIR, got '", spec, "'");
    gt::Gemma4& m = adapted.emplace_back(base);
    m.set_adapter(gt::LoraAdapter::load(spec.substr(eq + 1), m));
    o.models.emplace_back(spec.substr(0, eq), &m);
  }
  o.sampling_defaults = gt::sampling_from(a.model, gt::SamplingRule::Vllm);
  if (fs::exists(fs::path(a.model) / "generation_config.json")) {
    o.stop_ids = gt::stop_ids_from(a.model);  // what `generate` stops on
  } else {
    for (int32_t id : gt::data::chat_stop_ids(tok)) o.stop_ids.push_back(id);
  }
  o.vocab_limit = tok.vocab_size();
  if (a.log != gt::cli::LogLevel::Quiet) o.log = [](const std::string& m) { std::cerr << m << "\n"; };

  gt::serve::Server server(tok, o);
  const int port = server.bind();
  if (!a.port_file.empty()) std::ofstream(a.port_file) << port << "\n";
  std::cout << "serving " << o.models.front().first << " on http://" << a.host << ":" << port << "/v1" << std::endl;
  const std::atomic<bool>& signalled = gt::cli::stop_on_signals();
  std::atomic<bool> ended{false};  // run() returned by itself (listening failed)
  std::thread watcher([&] {
    while (!signalled && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (progress && signalled) *progress << "stopping: ending the running requests\n";
    server.stop();
  });
  const bool ok = server.run();
  ended = true;
  watcher.join();
  GT_CHECK(ok, "serve: listening on ", a.host, ":", port, " failed");
  return 0;
}

gt::cli::Registrar reg("serve", [](CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("serve", "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/models)");
  sub->add_option("--model", a->model, "Hugging Face model directory (with tokenizer.json)")->required();
  sub->add_option("--served-model-name", a->name, "The name requests give as 'model' (default: --model as given)");
  sub->add_option("--adapter", a->adapters, "A LoRA adapter served as its own model: NAME=DIR (repeatable)")
      ->type_name("NAME=DIR");
  sub->add_option("--host", a->host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", a->port, "Port (0: any free one, printed on stdout)")->capture_default_str();
  sub->add_option("--port-file", a->port_file, "Write the port to this file once listening");
  sub->add_option("--max-body-bytes", a->limits.max_body_bytes, "Largest request body")
      ->check(gt::cli::at_least(1))->capture_default_str();
  sub->add_option("--max-tokens", a->limits.max_tokens, "Most new tokens a request may ask for (and the default)")
      ->check(gt::cli::at_least(1))->capture_default_str();
  sub->add_option("--max-concurrent", a->limits.max_concurrent, "Requests run at once; more are answered 429")
      ->check(gt::cli::at_least(1))->capture_default_str();
  sub->add_option("--max-prompt-tokens", a->limits.max_prompt_tokens, "Longest rendered prompt")
      ->check(gt::cli::at_least(1))->capture_default_str();
  gt::cli::add_device_option(sub, a->device);
  gt::cli::add_log_level_options(sub, a->log);
  gt::cli::set_job(sub, [a] { return run(*a); });
});

}  // namespace
