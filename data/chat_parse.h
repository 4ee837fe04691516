#pragma once
// Reading what Gemma 4 wrote in its turn (docs/chat.md §2, §4): the thought channel, the answer, tool calls.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/chat_format.h"

namespace gt::data {

struct ParsedResponse {
  // The thought channel's text, without the channel name ("thought\n") and trimmed; several blocks are joined
  // with "\n".
  std::string thought;
  // Everything outside thoughts and tool calls, trimmed. nullopt when a thought is still open at the end: the
  // model never got to its answer.
  std::optional<std::string> answer;
  std::vector<ToolCall> tool_calls;  // arguments are a JSON object
  // One line per piece that could not be read (an unclosed or malformed tool call, a stray closing marker); the
  // rest of the response is still parsed.
  std::vector<std::string> errors;
};

// `completion` is the decoded text with special tokens kept. It is cut at the first stop token (<turn|>, <eos>,
// <|tool_response>). Thoughts are `<|channel>...<channel|>` or `<think>...</think>`; a closing marker before any
// opening one means the completion began inside a thought the prompt opened (the E2B prompt does that after a tool
// response with thinking on), so the text before it is thought. Tool calls are
// `<|tool_call>call:NAME{key:value,...}<tool_call|>` with bare keys, `<|"|>` strings (taken verbatim: braces,
// quotes and colons inside are text), numbers, true/false, null, nested {...} and [...]; a bare word that is none
// of these is read as a string, as vLLM's parser does.
ParsedResponse parse_response(std::string_view completion);

// The argument text between the braces of a tool call, as a JSON object. Throws gt::Error on malformed input.
nlohmann::json parse_tool_arguments(std::string_view text);

}  // namespace gt::data
