#pragma once
// A tiny model folder to serve (tests/train's tiny config, random f32 weights, the byte tokenizer, a
// generation_config.json whose stop ids are the byte tokenizer's chat stop tokens) and a server on a free port
// running in this process.
#include <httplib.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "data/chat_format.h"
#include "model/generate.h"
#include "serve/server.h"
#include "support/byte_tokenizer.h"
#include "support/files.h"
#include "train/sft_fixture.h"

namespace gt::testing {

struct TinyServeFolder {
  TempDir dir;
  std::string model = (dir.path / "model").string();
  // stops = false: a generation_config.json without stop ids, so only max_tokens (or a client leaving) ends one.
  explicit TinyServeFolder(bool stops = true) {
    const std::string cfg = dir.write("config.json", tiny_model_config().dump(2)).string();
    Gemma4::random(load_gemma4_config(cfg), 11, 0.5).save(model);
    std::ofstream(std::filesystem::path(model) / "tokenizer.json") << byte_tokenizer_json();
    std::ofstream(std::filesystem::path(model) / "generation_config.json") 
        << (stops ? R"({"eos_token_id": [1, 261, 267]})" : R"({"eos_token_id": null})");
  }
};

// What `gemma-tune generate` makes for these chat messages: the same rendering, stop ids and vocabulary limit.
inline std::vector<int64_t> generate_for_chat(const Gemma4& model, const data::Tokenizer& tok,
                                              const std::vector<int64_t>& stop_ids, const nlohmann::json& messages,
                                              int64_t max_tokens, SamplingOptions s = {0}) {
  const auto enc =
      data::encode_chat(tok, data::render_chat(data::conversation_from_json(messages)), data::MaskRule::AllowEmpty);
  GenerateOptions o;
  o.max_new_tokens = max_tokens;
  o.sampling = s;
  o.stop_ids = stop_ids;
  o.vocab_limit = tok.vocab_size();
  return generate(model, std::vector<int64_t>(enc.ids.begin(), enc.ids.end()), o).front().tokens;
}

// The model, its tokenizer and a server over them, listening until destroyed.
struct RunningServer {
  Gemma4 model, adapted;
  data::Tokenizer tok;
  std::vector<int64_t> stop_ids;
  std::unique_ptr<serve::Server> server;
  std::thread thread;
  int port = 0;

  // With `adapter_dir`, that LoRA adapter is also served as model "ft".
  RunningServer(const std::string& dir, serve::ServeLimits limits = {}, const std::string& adapter_dir = {})
      : model(Gemma4::load(dir)),
        adapted(model),
        tok(data::Tokenizer::from_file(std::filesystem::path(dir) / "tokenizer.json")),
        stop_ids(stop_ids_from(dir)) {
    serve::ServerOptions o;
    o.port = 0;
    o.limits = limits;
    o.models = {{"tiny", &model}};
    if (!adapter_dir.empty()) {
      adapted.set_adapter(LoraAdapter::load(adapter_dir, adapted));
      o.models.emplace_back("ft", &adapted);
    }
    o.sampling_defaults = sampling_from(dir, SamplingRule::Vllm);
    o.stop_ids = stop_ids;
    o.vocab_limit = tok.vocab_size();
    server = std::make_unique<serve::Server>(tok, o);
    port = server->bind();
    thread = std::thread([this] { server->run(); });
  }
  ~RunningServer() {
    server->stop();
    thread.join();
  }
  // POSTs a chat request and hands the response body to `receive` as it arrives (false hangs up).
  httplib::Result post_streaming(const std::string& body, std::function<bool(const char*, size_t)> receive) const {
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [receive](const char* d, size_t n, uint64_t, uint64_t) { return receive(d, n); };
    return client().send(req);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60);
    return c;
  }

  std::vector<int64_t> generate_tokens(const nlohmann::json& messages, int64_t max_tokens, SamplingOptions s = {0}) {
    return generate_for_chat(model, tok, stop_ids, messages, max_tokens, s);
  }
};

}  // namespace gt::testing
