#include <gtest/gtest.h>

#include "support/error_message.h"

#include <algorithm>
#include <array>
#include <functional>
#include <string>

#include "data/chat_format.h"
#include "data/chat_parse.h"
#include "support/chat_golden.h"
#include "support/files.h"

using namespace gt::data;
using gt::testing::chat_golden;
using nlohmann::json;

namespace {

const json& golden_conversation(const std::string& name) {
  for (const json& c : chat_golden()["conversations"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no golden conversation " + name);
}

RenderOptions options_of(const json& c) {
  return {c.value("enable_thinking", false), c.value("preserve_thinking", false), c["add_generation_prompt"]};
}

std::vector<Segment> render_golden(const json& c) {
  return render_chat(conversation_from_json(c["messages"], c.value("tools", json())), options_of(c));
}

std::vector<std::string> trainable_texts(const std::vector<Segment>& segments) {
  std::vector<std::string> out;
  for (const auto& s : segments)
    if (s.trainable) out.push_back(s.text);
  return out;
}

constexpr std::array<std::string_view, 16> kSpecial = {
    "<bos>",        "<eos>",        "<|tool>",          "<tool|>",
    "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>",
    "<|\"|>",       "<|think|>",    "<|channel>",       "<channel|>",
    "<|turn>",      "<turn|>",      "<|image|>",        "<|audio|>"};

bool ends_with_special(std::string_view s) {
  return std::any_of(kSpecial.begin(), kSpecial.end(), [&](auto t) { return s.ends_with(t); });
}
bool starts_with_special(std::string_view s) {
  return std::any_of(kSpecial.begin(), kSpecial.end(), [&](auto t) { return s.starts_with(t); });
}


}  // namespace

TEST(ChatFormat, RendersEveryGoldenConversationByteForByte) {
  const json& convs = chat_golden()["conversations"];
  ASSERT_GE(convs.size(), 10u);
  for (const json& c : convs) {
    SCOPED_TRACE(c["name"].get<std::string>());
    EXPECT_EQ(join_segments(render_golden(c)), c["rendered"].get<std::string>());
  }
}

TEST(ChatFormat, SegmentsAlternateAndSplitAtSpecialTokensOrAfterAHeader) {
  for (const json& c : chat_golden()["conversations"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto segments = render_golden(c);
    ASSERT_FALSE(segments.empty());
    EXPECT_EQ(segments.front().text.substr(0, 5), "<bos>");
    EXPECT_FALSE(segments.front().trainable);
    for (std::size_t i = 0; i < segments.size(); ++i) {
      EXPECT_FALSE(segments[i].text.empty());
      if (i == 0) continue;
      EXPECT_NE(segments[i].trainable, segments[i - 1].trainable);
      const std::string& before = segments[i - 1].text;
      bool at_header = before.ends_with("<|turn>model\n");
      EXPECT_TRUE(at_header || ends_with_special(before) || starts_with_special(segments[i].text))
          << "boundary between '" << before << "' and '" << segments[i].text << "'";
    }
  }
}

TEST(ChatFormat, MaskCoversWhatTheModelWrites) {
  using V = std::vector<std::string>;
  EXPECT_EQ(trainable_texts(render_golden(golden_conversation("user_only"))), V{});
  EXPECT_EQ(trainable_texts(render_golden(golden_conversation("developer_as_system_no_prompt"))),
            V{"Bonjour !<turn|>"});
  EXPECT_EQ(trainable_texts(render_golden(golden_conversation("tool_call_openai_then_answer"))),
            (V{"<|tool_call>call:get_w{city:<|\"|>Paris<|\"|>}<tool_call|><|tool_call>call:get_w{city:<|\"|>Rome<|\"|>}"
               "<tool_call|><|tool_response>",
               "Paris is clear, Rome has rain.<turn|>"}));
  // The generation prompt's open thought is prompt, not target.
  EXPECT_EQ(trainable_texts(render_golden(golden_conversation("thinking_tool_response_opens_thought"))),
            (V{"<|channel>thought\nI should call the tool.\n<channel|><|tool_call>call:get_w{city:<|\"|>Paris<|\"|>}"
               "<tool_call|><|tool_response>"}));
  // Dropped thoughts are gone from the text and from the mask; the kept ones are trainable.
  EXPECT_EQ(trainable_texts(render_golden(golden_conversation("multi_turn_earlier_thoughts_dropped"))),
            (V{"4 exactly<turn|>",
               "<|channel>thought\nUse the calculator.\n<channel|><|tool_call>call:calc{expr:<|\"|>4*3<|\"|>}"
               "<tool_call|><|tool_response>",
               "<|channel>thought\nTwelve, after the tool.\n<channel|>12<turn|>"}));
  // Calls left unanswered end on the <|tool_response> the model stops on.
  auto waiting = trainable_texts(render_golden(golden_conversation("tool_call_awaiting_response")));
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_TRUE(waiting[0].starts_with("<|tool_call>call:search{"));
  EXPECT_TRUE(waiting[0].ends_with("<tool_call|>Searching.<|tool_response>"));
}

TEST(ChatFormat, TheSpecExamplesOfGemma4Md) {
  Conversation c = conversation_from_json(json::parse(R"([{"role": "user", "content": "Hi"}])"));
  EXPECT_EQ(join_segments(render_chat(c)), "<bos><|turn>user\nHi<turn|>\n<|turn>model\n");
  EXPECT_EQ(join_segments(render_chat(c, {.enable_thinking = true})),
            "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n");
  c = conversation_from_json(
      json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])"));
  EXPECT_EQ(join_segments(render_chat(c, {.enable_thinking = true})),
            "<bos><|turn>system\n<|think|>\nBe brief.<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n");
  // docs/chat.md §4: a result continues the same model turn, and generation resumes right after it.
  c = conversation_from_json(json::parse(R"([{"role": "user", "content": "Weather?"},
      {"role": "assistant", "tool_calls": [{"function": {"name": "get_w", "arguments": {"city": "Paris"}}}],
       "tool_responses": [{"name": "get_w", "response": {"value": "sunny"}}]}])"));
  EXPECT_EQ(join_segments(render_chat(c)),
            "<bos><|turn>user\nWeather?<turn|>\n<|turn>model\n<|tool_call>call:get_w{city:<|\"|>Paris<|\"|>}"
            "<tool_call|><|tool_response>response:get_w{value:<|\"|>sunny<|\"|>}<tool_response|>");
}

TEST(ChatFormat, PlanSamplesRenderTheTrainingMdTexts) {
  const json& samples = chat_golden()["plan_samples"];
  ASSERT_GE(samples.size(), 2u);
  for (const json& g : samples) {
    PlanSample s = sample_from_json(g["sample"], "golden");
    auto full = render_plan_sample(s, true);
    ASSERT_EQ(full.size(), 2u);
    EXPECT_FALSE(full[0].trainable);
    EXPECT_TRUE(full[1].trainable);
    EXPECT_EQ(full[0].text, g["prompt"].get<std::string>());
    EXPECT_EQ(full[1].text, g["target"].get<std::string>());
    auto prompt = render_plan_sample(s, false);
    ASSERT_EQ(prompt.size(), 1u);
    EXPECT_EQ(prompt[0].text, full[0].text);
    EXPECT_FALSE(prompt[0].trainable);

    // docs/spec.md §1.2, spelled out.
    EXPECT_TRUE(
        full[0].text.starts_with("<bos><|turn>system\n<|think|>\n" + std::string(s.system_prompt()) + "<turn|>\n"));
    std::string request = s.messages.back().content;
    EXPECT_NE(full[0].text.find("<|turn>user\nYOUR TASK IS TO GENERATE A JSON STRICTLY and CORRECTLY\n[\n  {\n"
                                "    \"pluginId\": \"" +
                                s.candidates[0].plugin_id + "\",\n"),
              std::string::npos);
    EXPECT_TRUE(full[0].text.ends_with("\n]\n\nUser Request: " + request + "<turn|>\n<|turn>model\n"));
    EXPECT_EQ(full[1].text,
              "<|channel>thought\n" + s.target->thinking + "<channel|>" + s.target->plan.dump() + "<turn|>");
  }
}

TEST(ChatFormat, EarlierPlanTurnsAreNotTrainable) {
  PlanSample s = sample_from_json(chat_golden()["plan_samples"][1]["sample"], "golden");
  ASSERT_EQ(s.category, "multi_turn");
  auto segments = render_plan_sample(s, true);
  EXPECT_NE(segments[0].text.find("<|turn>model\nHello! What goal?<turn|>\n"), std::string::npos);
  EXPECT_EQ(trainable_texts(segments).size(), 1u);
}

TEST(ChatFormat, APromptOnlySampleHasNoTargetToRender) {
  PlanSample s = sample_from_json(chat_golden()["plan_samples"][0]["sample"], "data.jsonl:4");
  s.target.reset();
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] { render_plan_sample(s, true); }), "data.jsonl:4: sample 's-1' has no target to render");
  EXPECT_EQ(render_plan_sample(s, false).size(), 1u);
}

TEST(ChatFormat, ConversationErrorsNameTheField) {
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([] { conversation_from_json(json::parse(R"([{"role": "model", "content": "x"}])")); }),
            "messages[0].role must be one of system, developer, user, assistant, tool (got \"model\")");
  EXPECT_NE(gt::testing::thrown_message<gt::Error>([] {
              conversation_from_json(json::parse(R"([{"role": "user", "content": [{"type": "text"}]}])"));
            }).find("messages[0].content must be a string (content parts are not supported)"),
            std::string::npos);
  EXPECT_NE(gt::testing::thrown_message<gt::Error>([] {
              conversation_from_json(json::parse(R"([{"role": "tool", "content": {"a": 1}}])"));
            }).find("give structured results as tool_responses"),
            std::string::npos);
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([] {
              conversation_from_json(
                  json::parse(R"([{"role": "assistant", "tool_calls": [{"function": {"arguments": {}}}]}])"));
            }),
            "messages[0].tool_calls[0].function.name is missing");
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([] {
              conversation_from_json(json::parse(R"([{"role": "assistant", "tool_responses": [{"name": "f"}]}])"));
            }),
            "messages[0].tool_responses[0].response is missing");
}

TEST(ChatFormat, RenderedArgumentsParseBack) {
  const json& c = golden_conversation("tool_call_awaiting_response");
  const json& args = c["messages"][1]["tool_calls"][0]["function"]["arguments"];
  std::string rendered = c["rendered"];
  std::size_t open = rendered.find("call:search{") + 12, close = rendered.rfind("}<tool_call|>");
  EXPECT_EQ(parse_tool_arguments(std::string_view(rendered).substr(open, close - open)), args);
  ParsedResponse p = parse_response(rendered.substr(rendered.find("<|tool_call>")));
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].arguments, args);
  EXPECT_EQ(p.answer, "Searching.");
}

TEST(ChatFormat, ChatRenderShowsTheTrainableSpan) {
  gt::testing::TempDir dir;
  const json& g = chat_golden()["plan_samples"][0];
  std::string path = dir.write("sample.json", g["sample"].dump()).string();
  auto r = gt::testing::run_gemma_tune("chat-render --sample " + path);
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find(g["prompt"].get<std::string>() + "⟦" + g["target"].get<std::string>() + "⟧\n"),
            std::string::npos)
      << r.output;
  r = gt::testing::run_gemma_tune("chat-render --no-target --sample " + path);
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find(g["prompt"].get<std::string>()), std::string::npos);
  EXPECT_EQ(r.output.find("⟦"), std::string::npos);

  std::string conv = dir.write("chat.json", golden_conversation("multi_step_tool_loop").dump()).string();
  r = gt::testing::run_gemma_tune("chat-render --chat " + conv);
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("<|turn>model\n⟦<|tool_call>call:step{n:1}<tool_call|><|tool_response>⟧response:step"),
            std::string::npos)
      << r.output;
}
