#include "rl/completion_parse.h"

#include <array>
#include <string>

#include "base/json_file.h"

namespace gt::rl {

namespace {

struct Delimiters {
  std::string_view open, close;
};
constexpr std::array<Delimiters, 2> kThought = {{{"<|channel>", "<channel|>"}, {"<think>", "</think>"}}};

std::optional<std::string> drop_thoughts(std::string_view text) {
  std::string out(text);
  for (;;) {
    std::size_t at = std::string::npos;
    const Delimiters* first = nullptr;
    for (const auto& d : kThought) {
      std::size_t p = out.find(d.open);
      if (p < at) at = p, first = &d;
    }
    if (!first) return out;
    std::size_t end = out.find(first->close, at + first->open.size());
    if (end == std::string::npos) return std::nullopt;
    out.erase(at, end + first->close.size() - at);
  }
}

std::string_view drop_fence(std::string_view text) {
  std::size_t fence = text.find("```");
  if (fence == std::string_view::npos || fence > text.find('{')) return text;
  std::string_view body = text.substr(fence + 3);
  std::size_t info_end = body.find_first_of("\n{");
  body = info_end == std::string_view::npos ? std::string_view() : body.substr(info_end);
  return body.substr(0, body.find("```"));
}

std::optional<std::string_view> first_object(std::string_view text) {
  std::size_t start = text.find('{');
  if (start == std::string_view::npos) return std::nullopt;
  int depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return text.substr(start, i - start + 1);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<nlohmann::json> parse_completion(std::string_view completion) {
  auto text = drop_thoughts(completion);
  if (!text) return std::nullopt;
  auto object = first_object(drop_fence(*text));
  if (!object) return std::nullopt;
  nlohmann::json plan;
  if (try_parse_json(*object, plan)) return std::nullopt;
  return plan;
}

}  // namespace gt::rl
