#pragma once
// The OpenAI-compatible HTTP server of `gemma-tune serve` (docs/serve.md): GET /v1/models and
// POST /v1/chat/completions (streamed as server-sent events or not), on cpp-httplib, with generation run by the
// Scheduler. Every error is a 4xx/5xx with an OpenAI-style JSON body (serve/api_error.h).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "model/gemma4.h"
#include "serve/chat_request.h"

namespace gt::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (bind() says which)
  ServeLimits limits;
  // Served models by the name a request's `model` gives: the base model first, then any LoRA adapters. They must
  // outlive the server.
  std::vector<std::pair<std::string, const Gemma4*>> models;
  SamplingOptions sampling_defaults;
  std::vector<int64_t> stop_ids;
  int64_t vocab_limit = 0;
  // One line per finished request (null: none).
  std::function<void(const std::string&)> log;
};

class Server {
 public:
  Server(const data::Tokenizer& tokenizer, ServerOptions options);
  ~Server();
  // Binds the socket; returns the port (the chosen one for port 0). Throws gt::Error when it cannot.
  int bind();
  // Serves until stop() (from any thread); returns false when listening failed.
  bool run();
  // Ends the running requests (their streams close with an error) and makes run() return.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gt::serve
