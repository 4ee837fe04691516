// TRL's dataset formats (data/trl_format.h, docs/data.md): each line's format told from its keys, and the loss masks
// of TRL's SFTTrainer: assistant_only_loss covers exactly the model turns render_chat flags (thoughts, tool calls,
// the <|tool_response> the model stops on, answers, <turn|>), completion_only_loss exactly the completion.
#include <gtest/gtest.h>

#include "data/chat_format.h"
#include "data/tokenizer.h"
#include "data/trl_format.h"
#include "support/byte_tokenizer.h"
#include "support/expect_error.h"

using namespace gt;
using namespace gt::data;
using gt::testing::expect_error;
using nlohmann::json;

namespace {

const Tokenizer& tok() {
  static const Tokenizer t = Tokenizer::from_json(gt::testing::byte_tokenizer_json());
  return t;
}

const json kTools = json::parse(R"([{"type": "function", "function": {"name": "wx", "description": "weather",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");

// System, tools, a tool call answered by a tool message, a second user turn, and a thought on the last answer.
json tool_conversation() {
  return {{"messages", json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Oslo?"},
    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "wx", "arguments": {"city": "Oslo"}}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "rain"},
    {"role": "assistant", "content": "Rain."},
    {"role": "user", "content": "And Rome?"},
    {"role": "assistant", "reasoning": "Ask wx.", "tool_calls": [{"id": "c2", "type": "function",
      "function": {"name": "wx", "arguments": {"city": "Rome"}}}]},
    {"role": "tool", "tool_call_id": "c2", "content": "sun"},
    {"role": "assistant", "content": "Sun."}])")},
          {"tools", kTools}};
}

EncodedChat encode(const json& line, const LineRendering& r = {}) {
  const LineFormat f = line_format(line, "t.jsonl:1", LineUse::Sft);
  return encode_chat(tok(), render_sft_line(line, f, "t.jsonl:1", r), MaskRule::RequireTrainable, "t.jsonl:1");
}

// The decoded runs of trainable tokens.
std::vector<std::string> trainable_runs(const EncodedChat& e) {
  std::vector<std::string> runs;
  std::vector<int32_t> run;
  for (size_t i = 0; i <= e.ids.size(); ++i) {
    if (i < e.ids.size() && e.mask[i]) {
      run.push_back(e.ids[i]);
    } else if (!run.empty()) {
      runs.push_back(tok().decode(run));
      run.clear();
    }
  }
  return runs;
}

// The mask render_chat's segments give, token by token (each segment tokenized alone).
std::vector<uint8_t> segment_mask(const std::vector<Segment>& segments) {
  std::vector<uint8_t> mask;
  for (const Segment& s : segments) mask.resize(mask.size() + tok().encode(s.text).size(), s.trainable);
  return mask;
}

LineRendering assistant_only() {
  LineRendering r;
  r.masks.assistant_only = true;
  return r;
}

}  // namespace

TEST(TrlFormat, EachLineFormatIsToldFromItsKeysAndOthersAreRefusedNamingTheLine) {
  EXPECT_EQ(line_format(tool_conversation(), "f:1", LineUse::Sft), LineFormat::Conversational);
  EXPECT_EQ(line_format({{"prompt", "a"}, {"completion", "b"}}, "f:1", LineUse::Sft), LineFormat::PromptCompletion);
  EXPECT_EQ(line_format({{"prompt", "a"}, {"answer", 3}}, "f:1", LineUse::Prompts), LineFormat::Prompt);
  EXPECT_EQ(line_format({{"candidates", json::array()}, {"messages", json::array()}}, "f:1", LineUse::Sft),
            LineFormat::Plan);
  expect_error(
      [] {
        line_format({{"prompt", "a"}}, "f.jsonl:7", LineUse::Sft);
      },
      {"f.jsonl:7", "keys prompt;", "prompt and completion", "messages", "candidates"});
  expect_error([] { line_format({{"text", "a"}}, "f.jsonl:2", LineUse::Prompts); }, {"f.jsonl:2", "keys text;"});
  expect_error([] { line_format(json::array(), "f.jsonl:3", LineUse::Sft); }, {"f.jsonl:3", "JSON object"});
  expect_error([] { encode({{"messages", {{{"role", "robot"}}}}}); }, {"t.jsonl:1", "messages[0].role"});
  expect_error(
      [] {
        encode({{"prompt", "a"}, {"completion", json::array()}});
      },
      {"t.jsonl:1", "both be strings", "both message lists"});
}

TEST(TrlFormat, AssistantOnlyLossCoversExactlyTheModelTurns) {
  const json line = tool_conversation();
  const EncodedChat e = encode(line, assistant_only());
  const Conversation c = conversation_from_json(line["messages"], line["tools"]);
  // The line's last answer carries a thought, so it renders with thinking on.
  const std::vector<Segment> segments = render_chat(c, {.enable_thinking = true, .add_generation_prompt = false});
  EXPECT_EQ(tok().decode(e.ids), join_segments(segments));
  EXPECT_EQ(e.mask, segment_mask(segments));
  EXPECT_EQ(trainable_runs(e),
            (std::vector<std::string>{"<|tool_call>call:wx{city:<|\"|>Oslo<|\"|>}<tool_call|><|tool_response>",
                                      "Rain.<turn|>",
                                      "<|channel>thought\nAsk wx.\n<channel|><|tool_call>call:wx{city:<|\"|>Rome<|\"|>}"
                                      "<tool_call|><|tool_response>",
                                      "Sun.<turn|>"}));
}

TEST(TrlFormat, WithoutAssistantOnlyLossEveryTokenAfterBosCounts) {
  const EncodedChat e = encode(tool_conversation());
  ASSERT_GT(e.ids.size(), 100u);
  EXPECT_EQ(e.ids[0], 2);
  EXPECT_EQ(e.mask[0], 0);
  EXPECT_EQ(std::count(e.mask.begin(), e.mask.end(), 1), static_cast<long>(e.ids.size() - 1));
}

TEST(TrlFormat, ThinkingFollowsTheLineUnlessTheKwargsSayOtherwise) {
  const json plain = {
      {"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "yo"}}}}};
  auto text = [](const json& line, const LineRendering& r = {}) { return tok().decode(encode(line, r).ids); };
  EXPECT_EQ(text(plain), "<bos><|turn>user\nhi<turn|>\n<|turn>model\nyo<turn|>\n");
  EXPECT_NE(text(tool_conversation()).find("<|think|>"), std::string::npos);
  LineRendering on;
  on.chat_template_kwargs.enable_thinking = true;
  EXPECT_EQ(text(plain, on),
            "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nhi<turn|>\n<|turn>model\nyo<turn|>\n");
  json off = tool_conversation();
  off["chat_template_kwargs"] = {{"enable_thinking", false}};  // the line's own kwargs win
  EXPECT_EQ(text(off, on).find("<|think|>"), std::string::npos);
  off["chat_template_kwargs"] = {{"enable_thinkin", false}};
  expect_error([&] { encode(off); }, {"t.jsonl:1", "enable_thinkin"});
}

TEST(TrlFormat, CompletionOnlyLossCoversExactlyTheCompletion) {
  const json standard = {{"prompt", "2+2="}, {"completion", "4"}};
  EXPECT_EQ(tok().decode(encode(standard).ids), "<bos>2+2=4<eos>");
  EXPECT_EQ(trainable_runs(encode(standard)), (std::vector<std::string>{"4<eos>"}));
  LineRendering all;
  all.masks.completion_only = false;
  EXPECT_EQ(trainable_runs(encode(standard, all)), (std::vector<std::string>{"2+2=4<eos>"}));
  expect_error([&] { encode(standard, assistant_only()); }, {"t.jsonl:1", "assistant_only_loss", "conversational"});

  json chat = {
      {"prompt", {{{"role", "user"}, {"content", "Weather?"}}}},
      {"completion", json::parse(R"([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "wx",
                  "arguments": {"city": "Oslo"}}}]}, {"role": "tool", "tool_call_id": "c", "content": "rain"},
                  {"role": "assistant", "content": "Rain."}])")},
      {"tools", kTools}};
  const EncodedChat e = encode(chat);
  // The completion: everything after the prompt's generation prompt, the tool result and the last newline included.
  EXPECT_EQ(trainable_runs(e),
            (std::vector<std::string>{"<|tool_call>call:wx{city:<|\"|>Oslo<|\"|>}<tool_call|><|tool_response>"
                                      "response:wx{value:<|\"|>rain<|\"|>}<tool_response|>Rain.<turn|>\n"}));
  // With assistant_only_loss as well, only the model's own tokens of the completion.
  EXPECT_EQ(trainable_runs(encode(chat, assistant_only())),
            (std::vector<std::string>{"<|tool_call>call:wx{city:<|\"|>Oslo<|\"|>}<tool_call|><|tool_response>",
                                      "Rain.<turn|>"}));
}

TEST(TrlFormat, GrpoPromptsRenderWithTheGenerationPromptOrAsTextAfterBos) {
  const json chat = {{"prompt", {{{"role", "user"}, {"content", "hi"}}}}, {"answer", 4}};
  EXPECT_EQ(join_segments(render_prompt_line(chat, "p:1", {})), "<bos><|turn>user\nhi<turn|>\n<|turn>model\n");
  EXPECT_EQ(join_segments(render_prompt_line({{"prompt", "Say hi:"}}, "p:1", {})), "<bos>Say hi:");
  expect_error([] { render_prompt_line({{"prompt", 3}}, "p.jsonl:4", {}); }, {"p.jsonl:4", "string or a message"});
  EXPECT_EQ(line_id({{"id", "x"}}, "p:1"), "x");
  EXPECT_EQ(line_id({{"id", 3}}, "p:1"), "p:1");
}
