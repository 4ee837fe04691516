#include "serve/server.h"

// httplib's listen backlog is 5: with more clients connecting at once than that, the kernel drops their handshakes
// and a client can see its connection closed unanswered.
#define CPPHTTPLIB_LISTEN_BACKLOG 128
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "serve/api_error.h"
#include "serve/completion.h"
#include "serve/scheduler.h"

namespace gt::serve {

namespace {

using nlohmann::json;

// Text from the client or the model may hold invalid UTF-8 (a message quoting a bad byte, a byte token drawn
// alone); it goes out as U+FFFD rather than failing the response.
std::string text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(text(e.body()), "application/json");
}

// The fields every chat.completion(.chunk) object carries.
json envelope(const std::string& id, const std::string& object, int64_t created, const std::string& model) {
  return {{"id", id}, {"object", object}, {"created", created}, {"model", model}};
}

json usage(const ChatRequest& r, size_t completion_tokens) {
  const auto p = static_cast<int64_t>(r.prompt.size()), c = static_cast<int64_t>(completion_tokens);
  return {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}};
}

// A request on its way through a stream: the job, the parsed text so far and how many tokens were read.
struct Exchange {
  Exchange(ChatRequest r, std::shared_ptr<Job> j, const data::Tokenizer& tok, const std::string& id, json h)
      : request(std::move(r)), job(std::move(j)), completion(tok, request.stop, id), head(std::move(h)) {}
  ChatRequest request;
  std::shared_ptr<Job> job;
  Completion completion;
  json head;  // envelope of every chunk
  size_t seen = 0;
  bool started = false;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now(), last_write = t0;
};

}  // namespace

struct Server::Impl {
  const data::Tokenizer& tok;
  ServerOptions opt;
  Scheduler scheduler;
  httplib::Server http;
  std::atomic<int64_t> next_id{0};
  int port = -1;

  Impl(const data::Tokenizer& t, ServerOptions o)
      : tok(t), opt(std::move(o)), scheduler(opt.limits.max_concurrent) {}

  const Gemma4* model_for(const std::string& name) const {
    if (name.empty()) return opt.models.front().second;
    for (const auto& [n, m] : opt.models)
      if (n == name) return m;
    throw ApiError(404, "The model '" + name + "' does not exist", "model", "model_not_found");
  }

  void log(const Exchange& x, const Job::Snapshot& s, const char* how) const {
    if (!opt.log) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - x.t0).count();
    opt.log(x.head["id"].get<std::string>() + " " + how + ": prompt " + std::to_string(x.request.prompt.size()) +
            " tokens, completion " + std::to_string(s.tokens.size()) + " tokens, " + std::to_string(secs) + " s" +
            (s.error.empty() ? "" : " (" + s.error + ")"));
  }

  std::shared_ptr<Exchange> start(const httplib::Request& req) {
    ChatRequest r = parse_chat_request(req.body, tok, opt.limits, opt.sampling_defaults);
    JobSpec spec{model_for(r.model), r.prompt, r.sampling, r.max_tokens, opt.vocab_limit, opt.stop_ids};
    auto job = scheduler.submit(std::move(spec));
    if (!job)
      throw ApiError(429, "the server is busy: " + std::to_string(opt.limits.max_concurrent) +
                              " requests are running; retry later", "", "rate_limit_exceeded");
    const std::string id = std::to_string(next_id++);
    const std::string name = r.model.empty() ? opt.models.front().first : r.model;
    const char* object = r.stream ? "chat.completion.chunk" : "chat.completion";
    json head = envelope("chatcmpl-" + id, object, static_cast<int64_t>(std::time(nullptr)), name);
    return std::make_shared<Exchange>(std::move(r), std::move(job), tok, id, std::move(head));
  }

  void complete(Exchange& x, httplib::Response& res) {
    Job::Snapshot s;
    while (!(s = x.job->wait(x.seen, 1000)).done) {
      x.seen = s.tokens.size();
      x.completion.update(s.tokens, false);
      if (x.completion.hit_stop()) x.job->cancel();
    }
    log(x, s, "done");
    if (!s.error.empty()) return send_error(res, ApiError(503, s.error));
    x.completion.update(s.tokens, true);
    json choice = {{"index", 0}, {"message", x.completion.message()}, {"logprobs", nullptr},
                   {"finish_reason", x.completion.finish_reason(s.stopped)}};
    if (x.request.return_token_ids) choice["token_ids"] = s.tokens;
    json out = x.head;
    out["choices"] = json::array({choice});
    out["usage"] = usage(x.request, s.tokens.size());
    res.set_content(text(out), "application/json");
  }

  // One call of httplib's chunked content provider: waits for tokens and writes their chunks; false ends the
  // response (the client went away, or all is sent).
  bool stream_some(Exchange& x, httplib::DataSink& sink) {
    auto send = [&](json delta, const json& finish, const json* token_ids) {
      json c = x.head;
      json choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish}};
      if (token_ids) choice["token_ids"] = *token_ids;
      c["choices"] = json::array({choice});
      const std::string line = "data: " + text(c) + "\n\n";
      x.last_write = std::chrono::steady_clock::now();
      return sink.write(line.data(), line.size());
    };
    if (!x.started) {
      x.started = true;
      return send({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr);
    }
    // A client that left is only seen by a failed write, so a stream with nothing to send (a long prefill, text
    // held back) sends an SSE comment, which clients ignore, every second.
    auto ping = [&] {
      if (std::chrono::steady_clock::now() - x.last_write < std::chrono::seconds(1)) return true;
      x.last_write = std::chrono::steady_clock::now();
      return sink.write(": ping\n\n", 8);
    };
    const Job::Snapshot s = x.job->wait(x.seen, 200);
    if (!s.done && s.tokens.size() == x.seen) return ping();
    const json new_ids(std::vector<int64_t>(s.tokens.begin() + static_cast<std::ptrdiff_t>(x.seen), s.tokens.end()));
    x.seen = s.tokens.size();
    std::vector<json> deltas = x.completion.update(s.tokens, s.done);
    if (x.completion.hit_stop()) x.job->cancel();
    if (x.request.return_token_ids && deltas.empty() && !new_ids.empty()) deltas.push_back(json::object());
    for (size_t i = 0; i < deltas.size(); ++i)
      if (!send(deltas[i], nullptr, x.request.return_token_ids && i == 0 ? &new_ids : nullptr)) return false;
    if (!s.done) return deltas.empty() ? ping() : true;
    log(x, s, "streamed");
    std::string tail;
    if (!s.error.empty()) {
      tail = "data: " + text(ApiError(503, s.error).body()) + "\n\n";
    } else {
      if (!send(json::object(), x.completion.finish_reason(s.stopped), nullptr)) return false;
      if (x.request.include_usage) {
        json u = x.head;
        u["choices"] = json::array();
        u["usage"] = usage(x.request, s.tokens.size());
        tail = "data: " + text(u) + "\n\n";
      }
    }
    tail += "data: [DONE]\n\n";
    if (!sink.write(tail.data(), tail.size())) return false;
    sink.done();
    return true;
  }

  void chat(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<Exchange> x;
    try {
      x = start(req);
    } catch (const ApiError& e) {
      return send_error(res, e);
    }
    if (!x->request.stream) return complete(*x, res);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [this, x](size_t, httplib::DataSink& sink) { return stream_some(*x, sink); },
        // Called when the response is over, sent or not: a client that left frees its slot.
        [x](bool) { x->job->cancel(); });
  }

  void routes() {
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json data = json::array();
      for (const auto& [name, m] : opt.models) {
        json e = {{"id", name}, {"object", "model"}, {"created", 0}, {"owned_by", "gemma-tune"}};
        if (name != opt.models.front().first) e["parent"] = opt.models.front().first;
        data.push_back(e);
      }
      res.set_content(text(json{{"object", "list"}, {"data", data}}), "application/json");
    });
    http.Post("/v1/chat/completions",
              [this](const httplib::Request& req, httplib::Response& res) { chat(req, res); });
    // Errors httplib answers itself (no such route, a body over the limit, a bad request line) get a JSON body too.
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      const std::string why = res.status == 404   ? "no route " + req.method + " " + req.path
                              : res.status == 413 ? std::string("the request body is over the server's limit")
                                                  : "the request could not be read (HTTP " +
                                                        std::to_string(res.status) + ")";
      send_error(res, ApiError(res.status, why));
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, ApiError(500, what));
    });
    http.set_payload_max_length(static_cast<size_t>(opt.limits.max_body_bytes));
    // A worker per admitted request plus a few to answer the rest (429s, /v1/models) at once.
    const auto workers = static_cast<size_t>(opt.limits.max_concurrent + 8);
    http.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  }
};

Server::Server(const data::Tokenizer& tokenizer, ServerOptions options)
    : impl_(std::make_unique<Impl>(tokenizer, std::move(options))) {
  GT_CHECK(!impl_->opt.models.empty(), "serve: no model to serve");
  GT_CHECK(impl_->opt.limits.max_concurrent >= 1, "serve: max concurrent requests must be >= 1");
  impl_->routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  Impl& i = *impl_;
  i.port = i.opt.port == 0 ? i.http.bind_to_any_port(i.opt.host) : (i.http.bind_to_port(i.opt.host, i.opt.port) ? i.opt.port : -1);
  GT_CHECK(i.port > 0, "serve: cannot listen on ", i.opt.host, ":", i.opt.port, " (in use, or not an address here?)");
  return i.port;
}

bool Server::run() { return impl_->http.listen_after_bind(); }

void Server::stop() {
  impl_->scheduler.stop();
  impl_->http.stop();
}

}  // namespace gt::serve
