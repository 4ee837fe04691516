#include "serve/completion.h"

#include <algorithm>

namespace gt::serve {

namespace {

using nlohmann::json;

// The longest prefix of `text` that is whole UTF-8 characters and ends before any byte from `limit` on.
size_t char_boundary(const std::string& text, size_t limit) {
  size_t n = std::min(limit, text.size());
  while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

// The part of `now` past what was sent, when `now` still starts with it (text only grows at its end, except where
// a held-back tail was re-decoded; then nothing is sent until it does again).
std::string fresh(const std::string& now, size_t upto, size_t& sent) {
  if (upto <= sent) return {};
  std::string d = now.substr(sent, upto - sent);
  sent = upto;
  return d;
}

// The text ends inside a channel's name ("<|channel>thou"): parse_response strips "thought\n" only once it is
// whole, so until then the name would read as thought text.
bool naming_channel(const std::string& text) {
  static constexpr std::string_view kOpen = "<|channel>", kName = "thought\n";
  const size_t at = text.rfind(kOpen);
  if (at == std::string::npos) return false;
  const std::string_view rest = std::string_view(text).substr(at + kOpen.size());
  return rest.size() < kName.size() && kName.starts_with(rest);
}

}  // namespace

Completion::Completion(const data::Tokenizer& tokenizer, std::vector<std::string> stop, std::string id)
    : tokenizer_(tokenizer), stop_(std::move(stop)), id_(std::move(id)) {}

std::vector<json> Completion::update(const std::vector<int64_t>& tokens, bool last) {
  const std::vector<int32_t> ids(tokens.begin(), tokens.end());
  std::string text = tokenizer_.decode(ids);
  // A byte-fallback token that starts a character decodes as U+FFFD until the rest of it arrives.
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  const bool unsettled = !last && text.ends_with(kReplacement);
  const std::string_view settled = std::string_view(text).substr(0, text.size() - (unsettled ? kReplacement.size() : 0));
  size_t cut = std::string::npos, longest = 0;
  for (const std::string& s : stop_) {
    cut = std::min(cut, settled.find(s));
    longest = std::max(longest, s.size());
  }
  if (cut != std::string::npos) {
    text.resize(cut);
    hit_stop_ = true;
    last = true;
  } else if (unsettled || (!last && naming_channel(text))) {
    return {};
  }
  parsed_ = data::parse_response(text);
  // Until the end, the last longest - 1 bytes of each text may be the start of a stop string.
  const size_t hold = last || longest == 0 ? 0 : longest - 1;
  std::vector<json> out;
  const std::string& thought = parsed_.thought;
  if (std::string d = fresh(thought, char_boundary(thought, thought.size() - std::min(hold, thought.size())),
                            sent_reasoning_); !d.empty())
    out.push_back({{"reasoning_content", d}});
  if (parsed_.answer) {
    const std::string& a = *parsed_.answer;
    if (std::string d = fresh(a, char_boundary(a, a.size() - std::min(hold, a.size())), sent_content_); !d.empty())
      out.push_back({{"content", d}});
  }
  // OpenAI streams a call as its index, id, type and name with empty arguments, then the arguments.
  for (; sent_calls_ < parsed_.tool_calls.size(); ++sent_calls_) {
    json head = call_json(sent_calls_);
    const std::string args = head["function"]["arguments"];
    head["function"]["arguments"] = "";
    out.push_back({{"tool_calls", json::array({head})}});
    out.push_back({{"tool_calls", json::array({{{"index", sent_calls_}, {"function", {{"arguments", args}}}}})}});
  }
  return out;
}

json Completion::call_json(size_t index) const {
  const data::ToolCall& c = parsed_.tool_calls[index];
  return {{"index", index},
          {"id", "call_" + id_ + "_" + std::to_string(index)},
          {"type", "function"},
          {"function", {{"name", c.name}, {"arguments", c.arguments.dump(-1, ' ', false, json::error_handler_t::replace)}}}};
}

json Completion::message() const {
  json m = {{"role", "assistant"}};
  const bool calls = !parsed_.tool_calls.empty();
  const std::string answer = parsed_.answer.value_or("");
  m["content"] = calls && answer.empty() ? json(nullptr) : json(answer);
  if (!parsed_.thought.empty()) m["reasoning_content"] = parsed_.thought;
  if (calls) {
    m["tool_calls"] = json::array();
    for (size_t i = 0; i < parsed_.tool_calls.size(); ++i) {
      json c = call_json(i);
      c.erase("index");
      m["tool_calls"].push_back(c);
    }
  }
  return m;
}

std::string Completion::finish_reason(bool stopped_on_id) const {
  if (!parsed_.tool_calls.empty()) return "tool_calls";
  return stopped_on_id || hit_stop_ ? "stop" : "length";
}

}  // namespace gt::serve
