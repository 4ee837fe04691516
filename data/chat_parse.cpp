#include "data/chat_parse.h"

#include <array>

#include "base/error.h"
#include "base/json_file.h"

namespace gt::data {

namespace {

using nlohmann::json;

constexpr std::string_view kQuote = "<|\"|>";
constexpr std::string_view kCallOpen = "<|tool_call>", kCallClose = "<tool_call|>";

struct Delimiters {
  std::string_view open, close;
};
constexpr std::array<Delimiters, 2> kThoughts = {{{"<|channel>", "<channel|>"}, {"<think>", "</think>"}}};

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  std::size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool is_json_number(std::string_view t) {
  std::size_t i = 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > start;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < t.size() && t[i] == '.' && (++i, !digits())) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

// A recursive-descent reader of Gemma's argument syntax. `close` is the character that ends the current object or
// array; '\0' stands for the end of the text at the top level.
struct ArgReader {
  std::string_view s;
  std::size_t i = 0;
  std::size_t depth = 0;  // bounded like any JSON we read (base/json_file.h), so the recursion is too

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("tool call arguments: " + what + " at offset " + std::to_string(i) + " in '" + std::string(s) + "'");
  }
  void skip_space() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  }
  bool at(std::string_view token) const { return s.substr(i, token.size()) == token; }
  bool closes(char close) const { return close == '\0' ? i >= s.size() : i < s.size() && s[i] == close; }
  void consume(char close) {
    if (!closes(close)) fail(i >= s.size() ? std::string("missing '") + close + "'" : "expected ',' or the end");
    if (close != '\0') ++i;
  }

  std::string quoted() {
    i += kQuote.size();
    std::size_t end = s.find(kQuote, i);
    if (end == std::string_view::npos) fail("unterminated <|\"|> string");
    std::string out(s.substr(i, end - i));
    i = end + kQuote.size();
    return out;
  }

  std::string key() {
    skip_space();
    if (at(kQuote)) return quoted();
    std::size_t start = i;
    while (i < s.size() && s[i] != ':' && s[i] != ',' && s[i] != '{' && s[i] != '}' && s[i] != '[' && s[i] != ']') ++i;
    std::string_view k = trim(s.substr(start, i - start));
    if (k.empty()) fail("missing key");
    return std::string(k);
  }

  json value() {
    skip_space();
    if (at(kQuote)) return quoted();
    if (i < s.size() && (s[i] == '{' || s[i] == '[')) {
      if (++depth > kMaxJsonDepth) fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      json v = s[i++] == '{' ? object('}') : array();
      --depth;
      return v;
    }
    std::size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
    std::string_view t = trim(s.substr(start, i - start));
    if (t.empty()) fail("missing value");
    if (t == "true") return true;
    if (t == "false") return false;
    if (t == "null") return nullptr;
    if (is_json_number(t)) {
      json number;
      if (auto e = try_parse_json(t, number)) fail(e->reason);
      return number;
    }
    return std::string(t);
  }

  json object(char close) {
    json out = json::object();
    skip_space();
    if (closes(close)) return consume(close), out;
    for (;;) {
      std::string k = key();
      skip_space();
      if (!at(":")) fail("expected ':' after key '" + k + "'");
      ++i;
      out[k] = value();
      skip_space();
      if (at(",")) {
        ++i;
        continue;
      }
      consume(close);
      return out;
    }
  }

  json array() {
    json out = json::array();
    skip_space();
    if (closes(']')) return ++i, out;
    for (;;) {
      out.push_back(value());
      skip_space();
      if (at(",")) {
        ++i;
        continue;
      }
      consume(']');
      return out;
    }
  }
};

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.' || static_cast<unsigned char>(c) >= 0x80;
}

// `call:NAME{...}` without the surrounding markers.
ToolCall parse_call(std::string_view body) {
  constexpr std::string_view kCall = "call:";
  if (body.substr(0, kCall.size()) != kCall) throw Error("tool call does not start with 'call:'");
  std::size_t n = kCall.size();
  while (n < body.size() && name_char(body[n])) ++n;
  std::string name(body.substr(kCall.size(), n - kCall.size()));
  if (name.empty()) throw Error("tool call has no function name");
  if (n >= body.size() || body[n] != '{' || body.back() != '}')
    throw Error("tool call '" + name + "' has no {arguments}");
  return {name, parse_tool_arguments(body.substr(n + 1, body.size() - n - 2)), std::nullopt};
}

// The earliest of `markers` in text at or after pos; npos when none.
std::size_t earliest(std::string_view text, std::size_t pos, std::initializer_list<std::string_view> markers,
                     std::string_view& which) {
  std::size_t best = std::string_view::npos;
  for (std::string_view m : markers) {
    std::size_t p = text.find(m, pos);
    if (p < best) best = p, which = m;
  }
  return best;
}

}  // namespace

json parse_tool_arguments(std::string_view text) {
  ArgReader r{text};
  return r.object('\0');
}

ParsedResponse parse_response(std::string_view completion) {
  std::string_view text = completion;
  std::string_view stop;
  text = text.substr(0, earliest(text, 0, {"<turn|>", "<eos>", "<|tool_response>"}, stop));

  ParsedResponse r;
  std::vector<std::string> thoughts;
  std::string answer;
  bool open_thought = false;
  const std::initializer_list<std::string_view> markers = {kThoughts[0].open,  kThoughts[0].close, kThoughts[1].open,
                                                           kThoughts[1].close, kCallOpen,          kCallClose};
  std::size_t pos = 0;
  std::string_view m;
  std::size_t at = earliest(text, 0, markers, m);
  if (at != std::string_view::npos && (m == kThoughts[0].close || m == kThoughts[1].close)) {
    thoughts.emplace_back(trim(text.substr(0, at)));
    pos = at + m.size();
  }
  while ((at = earliest(text, pos, markers, m)) != std::string_view::npos) {
    answer += text.substr(pos, at - pos);
    std::size_t body = at + m.size();
    const Delimiters* thought = nullptr;
    for (const auto& d : kThoughts)
      if (m == d.open) thought = &d;
    if (thought) {
      std::size_t close = text.find(thought->close, body);
      std::string_view t = text.substr(body, close == std::string_view::npos ? std::string_view::npos : close - body);
      if (thought == &kThoughts[0] && t.substr(0, 7) == "thought" && (t.size() == 7 || t[7] == '\n'))
        t.remove_prefix(7);
      thoughts.emplace_back(trim(t));
      if (close == std::string_view::npos) {
        open_thought = true;
        pos = text.size();
        break;
      }
      pos = close + thought->close.size();
    } else if (m == kCallOpen) {
      std::size_t close = text.find(kCallClose, body);
      if (close == std::string_view::npos) {
        r.errors.push_back("unclosed tool call: " + std::string(text.substr(at)));
        pos = text.size();
        break;
      }
      try {
        r.tool_calls.push_back(parse_call(text.substr(body, close - body)));
      } catch (const Error& e) {
        r.errors.push_back(std::string(e.what()) + ": " + std::string(text.substr(at, close + kCallClose.size() - at)));
      }
      pos = close + kCallClose.size();
    } else {
      r.errors.push_back("stray " + std::string(m) + " at offset " + std::to_string(at));
      pos = body;
    }
  }
  answer += text.substr(pos);

  for (std::size_t k = 0; k < thoughts.size(); ++k) r.thought += (k ? "\n" : "") + thoughts[k];
  if (!open_thought) r.answer = std::string(trim(answer));
  return r;
}

}  // namespace gt::data
