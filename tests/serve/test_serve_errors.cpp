// Bad requests are answered 4xx with an OpenAI-style JSON error and the server keeps serving; limits hold; a client
// that leaves mid-stream frees its slot.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "serve_fixture.h"

namespace gt::testing {
namespace {

using nlohmann::json;

json ok_body() {
  return {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"max_tokens", 3}, {"temperature", 0}};
}

json with(const std::string& key, const json& value) {
  json b = ok_body();
  b[key] = value;
  return b;
}

std::vector<std::string> malformed_bodies() {
  const json msg = ok_body()["messages"];
  std::vector<std::string> b = {
      "", "{", "not json", "[]", "42", "null", "\"text\"", "{\"messages\": [}", "{\"messages\": [{\"role\": \"user\",}]}",
      std::string(100, '[') + std::string(100, ']'), std::string(2000, '{'), "{\"messages\": \"\xff\xfe\"}",
  };
  const std::vector<json> bodies = {
      json::object(),
      {{"messages", nullptr}},
      {{"messages", json::array()}},
      {{"messages", "hello"}},
      {{"messages", json::array({"hello"})}},
      {{"messages", json::array({{{"role", "wizard"}, {"content", "hi"}}})}},
      {{"messages", json::array({{{"role", 3}, {"content", "hi"}}})}},
      {{"messages", json::array({{{"content", "hi"}}})}},
      {{"messages", json::array({{{"role", "user"}, {"content", 12}}})}},
      {{"messages", json::array({{{"role", "user"}, {"content", json::array({{{"type", "image_url"}}})}}})}},
      {{"messages", json::array({{{"role", "user"}, {"content", "<bos>hi"}}})}},
      with("model", 5),
      with("model", "nope"),
      with("max_tokens", -1),
      with("max_tokens", 0),
      with("max_tokens", "10"),
      with("max_tokens", 1.5),
      with("max_tokens", 1000000),
      with("max_completion_tokens", -5),
      with("max_tokens", json::array({1})),
      with("temperature", -0.1),
      with("temperature", 3),
      with("temperature", "hot"),
      with("top_p", 0),
      with("top_p", 1.5),
      with("top_k", -2),
      with("top_k", "all"),
      with("seed", "x"),
      with("seed", 0.5),
      with("stream", "yes"),
      with("stream", 1),
      with("stream_options", "usage"),
      with("stop", 5),
      with("stop", json::array({"a", 1})),
      with("stop", json::array({"a", "b", "c", "d", "e"})),
      with("stop", ""),
      with("n", 2),
      with("tools", "get_weather"),
      with("tools", json::array({5})),
      with("tool_choice", "required"),
      with("chat_template_kwargs", 1),
      with("return_token_ids", "true"),
  };
  for (const json& j : bodies) b.push_back(j.dump());
  return b;
}

TEST(ServeErrors, FiftyMalformedRequestsAre4xxAndTheServerGoesOn) {
  TinyServeFolder f;
  serve::ServeLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_tokens = 64;
  limits.max_prompt_tokens = 200;
  RunningServer s(f.model, limits);
  auto c = s.client();
  std::vector<std::string> bodies = malformed_bodies();
  bodies.push_back(std::string(5000, ' '));  // over the body limit
  bodies.push_back(ok_body().dump() + std::string(5000, ' '));
  bodies.push_back(with("messages", json::array({{{"role", "user"}, {"content", std::string(1000, 'a')}}})).dump());
  bodies.push_back(with("messages", json::array({{{"role", "user"}, {"content", std::string(300, 'a')}}})).dump());
  ASSERT_GE(bodies.size(), 50u);
  for (const std::string& body : bodies) {
    auto r = c.Post("/v1/chat/completions", body, "application/json");
    ASSERT_TRUE(r) << "no answer to " << body.substr(0, 80);
    EXPECT_GE(r->status, 400) << body.substr(0, 80);
    EXPECT_LT(r->status, 500) << body.substr(0, 80);
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.is_object() && e.contains("error")) << r->body;
    for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(e["error"].contains(k)) << r->body;
    EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  }
  auto r = c.Get("/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(json::parse(r->body).contains("error"));
  r = c.Post("/v1/chat/completions", ok_body().dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["object"], "chat.completion");
}

// With one slot: a second request while one runs is answered 429; a streaming client that leaves frees the slot.
TEST(ServeErrors, BusyIs429AndALeavingClientFreesItsSlot) {
  TinyServeFolder f(/*stops=*/false);  // nothing ends the long request but its client
  serve::ServeLimits limits;
  limits.max_concurrent = 1;
  limits.max_tokens = 100000;
  RunningServer s(f.model, limits);
  json long_body = with("max_tokens", 100000);
  long_body["stream"] = true;
  long_body["return_token_ids"] = true;  // a chunk per token, whatever the text holds back
  std::atomic<int> chunks{0};
  std::atomic<bool> leave{false};
  std::thread leaver([&] {
    s.post_streaming(long_body.dump(), [&](const char*, size_t) { return ++chunks, !leave; });
  });
  while (chunks < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto c = s.client();
  auto r = c.Post("/v1/chat/completions", ok_body().dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "rate_limit_error");
  leave = true;
  leaver.join();
  // The slot comes back within a step or two of the hang-up.
  const auto t0 = std::chrono::steady_clock::now();
  do {
    r = c.Post("/v1/chat/completions", ok_body().dump(), "application/json");
    ASSERT_TRUE(r);
    if (r->status != 429) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
}  // namespace gt::testing
