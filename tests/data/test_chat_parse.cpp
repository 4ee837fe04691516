#include <gtest/gtest.h>

#include "base/error.h"
#include "data/chat_parse.h"

using namespace gt::data;
using nlohmann::json;

TEST(ChatParse, SplitsTheThoughtChannelFromTheAnswer) {
  ParsedResponse p = parse_response("<|channel>thought\nThe user wants X.\n<channel|>{\"plan\": 1}<turn|>");
  EXPECT_EQ(p.thought, "The user wants X.");
  EXPECT_EQ(p.answer, "{\"plan\": 1}");
  EXPECT_TRUE(p.tool_calls.empty());
  EXPECT_TRUE(p.errors.empty());

  p = parse_response("<think>\nreasoning\n</think>\n\nAnswer.");
  EXPECT_EQ(p.thought, "reasoning");
  EXPECT_EQ(p.answer, "Answer.");

  p = parse_response("Plain answer<eos>ignored");
  EXPECT_EQ(p.thought, "");
  EXPECT_EQ(p.answer, "Plain answer");

  // An empty thought (the 26B/31B thinking-off prefix) is still a thought block.
  p = parse_response("<|channel>thought\n<channel|>Hi");
  EXPECT_EQ(p.thought, "");
  EXPECT_EQ(p.answer, "Hi");
}

TEST(ChatParse, AnUnclosedThoughtMeansNoAnswer) {
  ParsedResponse p = parse_response("<|channel>thought\nStill thinking about {\"plugins\"");
  EXPECT_EQ(p.thought, "Still thinking about {\"plugins\"");
  EXPECT_FALSE(p.answer.has_value());
  p = parse_response("<think>never closed");
  EXPECT_FALSE(p.answer.has_value());
  EXPECT_EQ(p.thought, "never closed");
}

TEST(ChatParse, ACompletionMayStartInsideAThoughtThePromptOpened) {
  ParsedResponse p = parse_response("The tool said sunny.\n<channel|>It is sunny.<turn|>");
  EXPECT_EQ(p.thought, "The tool said sunny.");
  EXPECT_EQ(p.answer, "It is sunny.");
  EXPECT_TRUE(p.errors.empty());
}

TEST(ChatParse, ReadsSeveralToolCallsWithNestedArguments) {
  ParsedResponse p = parse_response(
      "<|channel>thought\nTwo calls.\n<channel|>"
      "<|tool_call>call:get_weather{location:<|\"|>Paris, {FR}<|\"|>,days:3,ratio:-2.5e-3,metric:true,"
      "extra:null,nested:{inner:[1,<|\"|>a \"quoted\" }] string<|\"|>,{deep:false}],empty:{}},list:[]}<tool_call|>"
      "<|tool_call>call:module.fn-2{}<tool_call|><|tool_response>");
  EXPECT_EQ(p.thought, "Two calls.");
  EXPECT_EQ(p.answer, "");
  EXPECT_TRUE(p.errors.empty());
  ASSERT_EQ(p.tool_calls.size(), 2u);
  EXPECT_EQ(p.tool_calls[0].name, "get_weather");
  json expected = json::parse(R"({"location": "Paris, {FR}", "days": 3, "ratio": -2.5e-3, "metric": true,
      "extra": null, "nested": {"inner": [1, "a \"quoted\" }] string", {"deep": false}], "empty": {}}, "list": []})");
  EXPECT_EQ(p.tool_calls[0].arguments, expected);
  EXPECT_TRUE(p.tool_calls[0].arguments["days"].is_number_integer());
  EXPECT_TRUE(p.tool_calls[0].arguments["ratio"].is_number_float());
  EXPECT_EQ(p.tool_calls[1].name, "module.fn-2");
  EXPECT_EQ(p.tool_calls[1].arguments, json::object());
}

TEST(ChatParse, ArgumentsAcceptQuotedKeysSpacesAndBareWords) {
  EXPECT_EQ(parse_tool_arguments(" <|\"|>odd key<|\"|> : 1 , unit : celsius "),
            json::parse(R"({"odd key": 1, "unit": "celsius"})"));
  EXPECT_EQ(parse_tool_arguments(""), json::object());
  EXPECT_EQ(parse_tool_arguments("s:<|\"|><|\"|>"), json::parse(R"({"s": ""})"));
}

TEST(ChatParse, MalformedArgumentsAreErrors) {
  auto error_of = [](std::string_view args) {
    try {
      parse_tool_arguments(args);
    } catch (const gt::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error_of("a:<|\"|>open").find("unterminated <|\"|> string"), std::string::npos);
  EXPECT_NE(error_of("a:{b:1").find("missing '}'"), std::string::npos);
  EXPECT_NE(error_of("a:[1,2").find("missing ']'"), std::string::npos);
  EXPECT_NE(error_of("a").find("expected ':' after key 'a'"), std::string::npos);
  EXPECT_NE(error_of("a:").find("missing value"), std::string::npos);
  EXPECT_NE(error_of("a:1}").find("expected ',' or the end"), std::string::npos);
}

TEST(ChatParse, BrokenCallsAreReportedAndTheRestIsKept) {
  ParsedResponse p = parse_response(
      "Let me check.<|tool_call>call:bad{a:<|\"|>x}<tool_call|><|tool_call>call:good{n:1}<tool_call|>"
      "<|tool_call>call:cut{a:1");
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].name, "good");
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_NE(p.errors[0].find("unterminated"), std::string::npos);
  EXPECT_NE(p.errors[0].find("call:bad"), std::string::npos);
  EXPECT_EQ(p.errors[1], "unclosed tool call: <|tool_call>call:cut{a:1");
  EXPECT_EQ(p.answer, "Let me check.");

  p = parse_response("<|tool_call>get{a:1}<tool_call|>ok");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].find("does not start with 'call:'"), std::string::npos);
  EXPECT_EQ(p.answer, "ok");

  p = parse_response("Answer<channel|> more");
  EXPECT_EQ(p.thought, "Answer");  // a leading closer: the prompt opened the thought
  p = parse_response("A <|channel>thought\nx<channel|>B<channel|>C");
  EXPECT_EQ(p.answer, "A BC");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].find("stray <channel|>"), std::string::npos);
}

// The argument reader recurses once per level: bounded like JSON (issue 19), and a number beyond a double is an
// error naming it, not a bare nlohmann exception.
TEST(ChatParse, ToolArgumentsNestedTooDeepOrOutOfRangeAreErrors) {
  const std::string deep = "a:" + std::string(300000, '[') + std::string(300000, ']');
  try {
    parse_tool_arguments(deep);
    ADD_FAILURE() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nested deeper than 512 levels"), std::string::npos);
  }
  try {
    parse_tool_arguments("x:1e999");
    ADD_FAILURE() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("number 1e999 is out of range"), std::string::npos) << e.what();
  }
}
