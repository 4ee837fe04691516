// serve/completion.h: what the model wrote, as OpenAI's message and stream deltas. A random tiny model writes no
// tool calls or thoughts, so these feed scripted completions through the same code the server runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/completion.h"
#include "support/byte_tokenizer.h"

namespace gt::testing {
namespace {

using nlohmann::json;

const data::Tokenizer& tokenizer() {
  static const data::Tokenizer t = data::Tokenizer::from_json(byte_tokenizer_json());
  return t;
}

std::vector<int64_t> ids(const std::string& text) {
  const auto v = tokenizer().encode(text);
  return {v.begin(), v.end()};
}

// Streams `text` token by token, as the server does, and returns the deltas merged the way OpenAI clients merge
// them (strings appended, tool calls by index), beside the final message.
struct Streamed {
  json merged = {{"content", ""}, {"reasoning_content", ""}, {"tool_calls", json::array()}};
  json message;
  std::string finish;
  std::vector<json> deltas;
};

Streamed stream(const std::string& text, std::vector<std::string> stop = {}, bool stopped = true) {
  serve::Completion c(tokenizer(), std::move(stop), "7");
  Streamed s;
  const std::vector<int64_t> all = ids(text);
  std::vector<int64_t> so_far;
  for (size_t i = 0; i < all.size() && !c.hit_stop(); ++i) {
    so_far.push_back(all[i]);
    for (const json& d : c.update(so_far, i + 1 == all.size())) s.deltas.push_back(d);
  }
  if (!c.hit_stop() && all.empty()) c.update(so_far, true);
  for (const json& d : s.deltas) {
    for (const char* k : {"content", "reasoning_content"})
      if (d.contains(k)) s.merged[k] = s.merged[k].get<std::string>() + d[k].get<std::string>();
    if (d.contains("tool_calls"))
      for (const json& tc : d["tool_calls"]) {
        json& calls = s.merged["tool_calls"];
        const size_t k = tc["index"];
        if (k == calls.size()) calls.push_back(tc);
        else calls[k]["function"]["arguments"] =
            calls[k]["function"]["arguments"].get<std::string>() + tc["function"]["arguments"].get<std::string>();
      }
  }
  s.message = c.message();
  s.finish = c.finish_reason(stopped);
  return s;
}

TEST(Completion, ToolCallsAreOpenAIsToolCalls) {
  const Streamed s = stream("<|tool_call>call:get_weather{city:<|\"|>Paris, FR<|\"|>,days:3}<tool_call|>"
                            "<|tool_call>call:noop{}<tool_call|><|tool_response>");
  ASSERT_EQ(s.message["tool_calls"].size(), 2u);
  const json& c0 = s.message["tool_calls"][0];
  EXPECT_EQ(c0["type"], "function");
  EXPECT_EQ(c0["id"], "call_7_0");
  EXPECT_EQ(c0["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(c0["function"]["arguments"].get<std::string>()), json({{"city", "Paris, FR"}, {"days", 3}}));
  EXPECT_EQ(s.message["tool_calls"][1]["function"]["arguments"], "{}");
  EXPECT_TRUE(s.message["content"].is_null());
  EXPECT_EQ(s.finish, "tool_calls");
  // Streamed as OpenAI does: index, id, type and name with empty arguments first, then the arguments.
  ASSERT_EQ(s.merged["tool_calls"].size(), 2u);
  const json& first = s.deltas.at(0)["tool_calls"][0];
  EXPECT_EQ(first["function"]["arguments"], "");
  EXPECT_EQ(first["function"]["name"], "get_weather");
  EXPECT_EQ(first["index"], 0);
  EXPECT_FALSE(s.deltas.at(1)["tool_calls"][0].contains("id"));
  for (size_t k = 0; k < 2; ++k) {
    json merged = s.merged["tool_calls"][k];
    merged.erase("index");
    EXPECT_EQ(merged, s.message["tool_calls"][k]);
  }
}

TEST(Completion, ThoughtIsReasoningContent) {
  const Streamed s = stream("<|channel>thought\nThe user greets me; be brief.<channel|>Hello there! \xC3\xA9t\xC3\xA9<turn|>");
  EXPECT_EQ(s.message["reasoning_content"], "The user greets me; be brief.");
  EXPECT_EQ(s.message["content"], "Hello there! \xC3\xA9t\xC3\xA9");
  EXPECT_FALSE(s.message.contains("tool_calls"));
  EXPECT_EQ(s.merged["reasoning_content"], s.message["reasoning_content"]);
  EXPECT_EQ(s.merged["content"], s.message["content"]);
  EXPECT_EQ(s.finish, "stop");
  // Reasoning deltas come as the thought grows, before any content, and no delta splits a UTF-8 character.
  EXPECT_GT(s.deltas.size(), 10u);
  EXPECT_TRUE(s.deltas.front().contains("reasoning_content"));
  for (const json& d : s.deltas) EXPECT_NO_THROW(d.dump()) << "a delta that is not valid UTF-8";
}

TEST(Completion, StopStringsCutAndHoldBack) {
  const Streamed s = stream("one two STOP three", {"STOP", "never"});
  EXPECT_EQ(s.message["content"], "one two");
  EXPECT_EQ(s.merged["content"], "one two");
  EXPECT_EQ(s.finish, "stop");
  const Streamed plain = stream("no end in sight", {}, /*stopped=*/false);
  EXPECT_EQ(plain.message["content"], "no end in sight");
  EXPECT_EQ(plain.finish, "length");
}

}  // namespace
}  // namespace gt::testing
