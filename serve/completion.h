#pragma once
// What the model wrote, as the OpenAI API returns it: the text of a growing completion parsed (data/chat_parse.h)
// into reasoning_content (the thought channel, as vLLM returns reasoning), content and tool_calls, both as the final
// message and as the stream's deltas. Each delta extends what was sent before, so the deltas of a stream add up to
// the message of the same completion.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "data/chat_parse.h"
#include "data/tokenizer.h"

namespace gt::serve {

class Completion {
 public:
  // `stop`: strings that end the completion where they first appear (cut off, as OpenAI's `stop`); `id` prefixes
  // the tool call ids.
  Completion(const data::Tokenizer& tokenizer, std::vector<std::string> stop, std::string id);

  // Takes every token so far; `last` when no more will come. Returns the deltas not sent yet ({"reasoning_content"},
  // {"content"}, {"tool_calls": [...]}), holding back text that may still change: a stop string's possible start and
  // an unfinished UTF-8 character.
  std::vector<nlohmann::json> update(const std::vector<int64_t>& tokens, bool last);
  // A stop string appeared: no more tokens are wanted.
  bool hit_stop() const { return hit_stop_; }
  // The whole message (after the last update): role, content (null when there is none beside tool calls),
  // reasoning_content (when the model thought), tool_calls (when it made some).
  nlohmann::json message() const;
  // "tool_calls", "stop" (a stop id or string) or "length".
  std::string finish_reason(bool stopped_on_id) const;

 private:
  nlohmann::json call_json(size_t index) const;

  const data::Tokenizer& tokenizer_;
  std::vector<std::string> stop_;
  std::string id_;
  data::ParsedResponse parsed_;
  bool hit_stop_ = false;
  size_t sent_reasoning_ = 0, sent_content_ = 0, sent_calls_ = 0;
};

}  // namespace gt::serve
