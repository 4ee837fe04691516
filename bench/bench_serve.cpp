// `serve` throughput on the demo's model (configs/tiny.json, configs/tiny-tokenizer.json, random f32 weights) on
// the CPU: C clients at once (C = 1, 4, 16), each sending one non-streamed chat request (a short user message,
// about 20 prompt tokens) for 32 new tokens at temperature 0, through HTTP on localhost. No stop ids, so every
// request makes exactly 32 tokens. Counters: requests/s and new tokens/s over the wall time of a round.
// Run: build/bench_serve.
//
// The scheduler steps its sequences one at a time (serve/scheduler.h), so tokens/s stays near the one-client rate
// as clients are added; what concurrency buys is the prefills and HTTP work of one request overlapping another's
// decode only where the GEMMs leave cores idle.
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "autograd/parallel.h"
#include "data/tokenizer.h"
#include "serve/server.h"

using namespace gt;

namespace {

constexpr int64_t kNewTokens = 32;

struct Setup {
  Gemma4 model = Gemma4::random(load_gemma4_config(GT_CONFIGS "/tiny.json"), 1, 0.02);
  data::Tokenizer tok = data::Tokenizer::from_file(GT_CONFIGS "/tiny-tokenizer.json");
  std::unique_ptr<serve::Server> server;
  std::thread thread;
  int port = 0;
  Setup() {
    num_threads();  // apply the thread budget before the first GEMM
    serve::ServerOptions o;
    o.port = 0;
    o.models = {{"tiny", &model}};
    o.sampling_defaults.temperature = 0;
    o.vocab_limit = tok.vocab_size();
    server = std::make_unique<serve::Server>(tok, o);
    port = server->bind();
    thread = std::thread([this] { server->run(); });
  }
  ~Setup() {
    server->stop();
    thread.join();
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_ServeChat(benchmark::State& state) {
  Setup& s = setup();
  const int clients = static_cast<int>(state.range(0));
  const std::string body =
      nlohmann::json{{"messages", {{{"role", "user"}, {"content", "Plan a trip to the coast."}}}},
                     {"max_tokens", kNewTokens}}
          .dump();
  int64_t requests = 0;
  std::atomic<int> failed{0};
  std::string why;
  for (auto _ : state) {
    std::vector<std::thread> ts;
    for (int c = 0; c < clients; ++c)
      ts.emplace_back([&] {
        httplib::Client cl("127.0.0.1", s.port);
        cl.set_read_timeout(600);
        auto r = cl.Post("/v1/chat/completions", body, "application/json");
        if (!r || r->status != 200)
          if (failed++ == 0) why = r ? "HTTP " + std::to_string(r->status) + ": " + r->body : httplib::to_string(r.error());
      });
    for (auto& t : ts) t.join();
    if (failed > 0) {
      state.SkipWithError(("a request failed: " + why).c_str());
      break;
    }
    requests += clients;
  }
  state.counters["requests/s"] = benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(requests * kNewTokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ServeChat)->Arg(1)->Arg(4)->Arg(16)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
