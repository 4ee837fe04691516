// serve/ end to end in one process: a server on a free port answered through httplib's client. Greedy and seeded
// outputs equal generate()'s for the same prompt, streamed or not, however many requests run beside them.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>

#include "serve_fixture.h"

namespace gt::testing {
namespace {

using nlohmann::json;

json chat_body(const std::string& user, int64_t max_tokens, bool stream) {
  return {{"model", "tiny"},
          {"messages", json::array({{{"role", "user"}, {"content", user}}})},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"stream", stream},
          {"return_token_ids", true}};
}

json post_json(const RunningServer& s, const json& body) {
  auto c = s.client();
  auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  EXPECT_TRUE(r) << "no response";
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << r->body;
  return json::parse(r->body);
}

// The chunks of a streamed response, [DONE] checked and dropped.
std::vector<json> post_stream(const RunningServer& s, const json& body) {
  std::string raw;
  auto r = s.post_streaming(body.dump(), [&](const char* d, size_t n) { return raw.append(d, n), true; });
  EXPECT_TRUE(r);
  std::vector<json> chunks;
  size_t at = 0;
  bool done = false;
  for (size_t end; (end = raw.find("\n\n", at)) != std::string::npos; at = end + 2) {
    const std::string event = raw.substr(at, end - at);
    if (event.starts_with(":")) continue;  // an SSE comment (the server's keep-alive ping)
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    if (event == "data: [DONE]") done = true;
    else chunks.push_back(json::parse(event.substr(6)));
  }
  EXPECT_TRUE(done) << raw;
  EXPECT_EQ(at, raw.size());
  return chunks;
}

std::vector<int64_t> streamed_ids(const std::vector<json>& chunks, std::string* content = nullptr) {
  std::vector<int64_t> ids;
  for (const json& c : chunks) {
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (c["choices"].empty()) continue;
    const json& ch = c["choices"][0];
    if (ch.contains("token_ids")) for (int64_t t : ch["token_ids"]) ids.push_back(t);
    if (content && ch["delta"].contains("content")) *content += ch["delta"]["content"].get<std::string>();
  }
  return ids;
}

TEST(Serve, GreedyEqualsGenerateStreamedOrNot) {
  TinyServeFolder f;
  RunningServer s(f.model);
  for (const std::string user : {"hello", "What is 2+2?", "tools and plugins"}) {
    const json messages = chat_body(user, 40, false)["messages"];
    const std::vector<int64_t> want = s.generate_tokens(messages, 40);
    const json r = post_json(s, chat_body(user, 40, false));
    EXPECT_EQ(r["object"], "chat.completion");
    EXPECT_EQ(r["choices"][0]["token_ids"].get<std::vector<int64_t>>(), want) << user;
    EXPECT_EQ(r["usage"]["completion_tokens"], want.size());
    EXPECT_EQ(r["choices"][0]["finish_reason"], want.size() < 40 ? "stop" : "length");
    std::string streamed;
    const auto chunks = post_stream(s, chat_body(user, 40, true));
    EXPECT_EQ(streamed_ids(chunks, &streamed), want) << user;
    EXPECT_EQ(streamed, r["choices"][0]["message"]["content"].get<std::string>());
    EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
    EXPECT_EQ(chunks.back()["choices"][0]["finish_reason"], r["choices"][0]["finish_reason"]);
  }
}

TEST(Serve, ConcurrentRequestsEachEqualGenerate) {
  TinyServeFolder f;
  RunningServer s(f.model);
  std::vector<std::string> users;
  for (int i = 0; i < 8; ++i) users.push_back("prompt number " + std::to_string(i) + std::string(i * 3, 'x'));
  std::vector<std::vector<int64_t>> want;
  for (const auto& u : users) want.push_back(s.generate_tokens(chat_body(u, 30, false)["messages"], 30));
  // A seeded sampled request too: the same draws as generate's sample 0.
  json sampled = chat_body("sample me", 30, true);
  sampled["temperature"] = 0.9;
  sampled["top_k"] = 20;
  sampled["seed"] = 7;
  const auto want_sampled = s.generate_tokens(sampled["messages"], 30, {0.9, 20, 1.0, 7});
  std::vector<std::vector<int64_t>> got(users.size());
  std::vector<int64_t> got_sampled;
  std::vector<std::thread> clients;
  for (size_t i = 0; i < users.size(); ++i)
    clients.emplace_back([&, i] {
      if (i % 2) got[i] = streamed_ids(post_stream(s, chat_body(users[i], 30, true)));
      else got[i] = post_json(s, chat_body(users[i], 30, false))["choices"][0]["token_ids"].get<std::vector<int64_t>>();
    });
  clients.emplace_back([&] { got_sampled = streamed_ids(post_stream(s, sampled)); });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < users.size(); ++i) EXPECT_EQ(got[i], want[i]) << users[i];
  EXPECT_EQ(got_sampled, want_sampled);
}

// A LoRA adapter served beside the base: "model": "ft" gives generate's tokens with that adapter on, the base
// stays the base, both in one batch.
TEST(Serve, AdapterIsPickedByModelName) {
  TinyServeFolder f;
  const std::string adapter_dir = (f.dir.path / "adapter").string();
  {
    const Gemma4 base = Gemma4::load(f.model);
    LoraConfig c;
    c.r = 4;
    LoraAdapter a = LoraAdapter::create(base, c, 1);
    // A fresh adapter's B is zero (no change); a random one makes the adapter matter.
    uint64_t k = 0;
    for (auto& item : a.state().items())
      if (item.first.find("lora_B") != std::string::npos) {
        Tensor t(item.second);
        std::vector<float> v(static_cast<size_t>(t.numel()));
        for (float& x : v) x = static_cast<float>(static_cast<int64_t>((++k * 2654435761u) % 2001) - 1000) * 1e-3f;
        NoGradGuard ng;
        t.copy_from(Tensor::from_vector(v, t.shape()));
      }
    a.save(adapter_dir, "model.", "base");
  }
  RunningServer s(f.model, {}, adapter_dir);
  // Sampled with a seed: greedy decoding of random weights repeats one token with or without the adapter.
  json body = chat_body("adapt me", 30, true);
  body["temperature"] = 1.0;
  body["seed"] = 5;
  const SamplingOptions sampling{1.0, 0, 1.0, 5};
  const auto want_base = s.generate_tokens(body["messages"], 30, sampling);
  const auto want_ft = generate_for_chat(s.adapted, s.tok, s.stop_ids, body["messages"], 30, sampling);
  EXPECT_NE(want_base, want_ft);
  std::vector<int64_t> got_base, got_ft;
  std::thread base_client([&] { got_base = streamed_ids(post_stream(s, body)); });
  json ft = body;
  ft["stream"] = false;
  ft["model"] = "ft";
  got_ft = post_json(s, ft)["choices"][0]["token_ids"].get<std::vector<int64_t>>();
  base_client.join();
  EXPECT_EQ(got_base, want_base);
  EXPECT_EQ(got_ft, want_ft);
}

TEST(Serve, ModelsAndUnknownModel) {
  TinyServeFolder f;
  RunningServer s(f.model);
  auto c = s.client();
  auto r = c.Get("/v1/models");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const json m = json::parse(r->body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "tiny");
  json body = chat_body("hi", 4, false);
  body["model"] = "gpt-4";
  r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "model_not_found");
}

// A stop string ends the request early. Random weights write byte tokens that rarely form UTF-8, so the text is
// mostly U+FFFD and that is the stop string here (tests/serve/test_completion.cpp cuts real text).
TEST(Serve, StopStringsEndTheRequest) {
  TinyServeFolder f(/*stops=*/false);
  RunningServer s(f.model);
  json body = chat_body("stop test", 40, false);
  body["temperature"] = 1.0;  // greedy decoding of random weights repeats one token
  body["seed"] = 3;
  const json full = post_json(s, body);
  const std::string text = full["choices"][0]["message"]["content"];
  const size_t at = text.find("\xEF\xBF\xBD");
  ASSERT_NE(at, std::string::npos) << full.dump();
  body["stop"] = "\xEF\xBF\xBD";
  for (bool stream : {false, true}) {
    body["stream"] = stream;
    std::string content;
    if (stream) {
      const auto chunks = post_stream(s, body);
      streamed_ids(chunks, &content);
      EXPECT_EQ(chunks.back()["choices"][0]["finish_reason"], "stop");
    } else {
      const json cut = post_json(s, body);
      content = cut["choices"][0]["message"]["content"];
      EXPECT_EQ(cut["choices"][0]["finish_reason"], "stop");
      EXPECT_LT(cut["usage"]["completion_tokens"], 40);
    }
    EXPECT_EQ(content, text.substr(0, at));
  }
}

}  // namespace
}  // namespace gt::testing
