#include "serve/chat_request.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/error.h"
#include "base/json_file.h"
#include "data/chat_format.h"
#include "serve/api_error.h"

namespace gt::serve {

namespace {

using nlohmann::json;

std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 40 ? s.substr(0, 40) + "..." : s;
}

// A field that may be absent or null; present, it must have the right type and range.
const json* field(const json& body, const char* key) {
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<double> number(const json& body, const char* key, double lo, double hi, bool lo_open = false) {
  const json* v = field(body, key);
  if (!v) return std::nullopt;
  const bool ok = v->is_number() && v->get<double>() <= hi && (lo_open ? v->get<double>() > lo : v->get<double>() >= lo);
  if (!ok)
    throw ApiError(400, std::string("'") + key + "' must be a number in " + (lo_open ? "(" : "[") +
                            json(lo).dump() + ", " + json(hi).dump() + "], got " + shown(*v), key);
  return v->get<double>();
}

std::optional<int64_t> integer(const json& body, const char* key, int64_t lo, int64_t hi) {
  const json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi)) ||
      v->get<int64_t>() < lo || v->get<int64_t>() > hi)
    throw ApiError(400, std::string("'") + key + "' must be an integer in [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "], got " + shown(*v), key);
  return v->get<int64_t>();
}

bool boolean(const json& body, const char* key) {
  const json* v = field(body, key);
  if (v && !v->is_boolean()) throw ApiError(400, std::string("'") + key + "' must be a boolean, got " + shown(*v), key);
  return v && v->get<bool>();
}

std::vector<std::string> stop_strings(const json& body) {
  const json* v = field(body, "stop");
  if (!v) return {};
  std::vector<std::string> out;
  const json list = v->is_array() ? *v : json::array({*v});
  for (const json& s : list) {
    if (!s.is_string() || s.get<std::string>().empty())
      throw ApiError(400, "'stop' must be a non-empty string or a list of them, got " + shown(*v), "stop");
    out.push_back(s.get<std::string>());
  }
  if (out.size() > 4) throw ApiError(400, "'stop' takes at most 4 strings, got " + std::to_string(out.size()), "stop");
  return out;
}

// Whether the request's tools are rendered: tool_choice "auto" (the default) or "none"; forcing calls is not
// supported (the sampler has no grammar to force them with).
bool tools_wanted(const json& body) {
  const json* c = field(body, "tool_choice");
  if (!c || *c == "auto") return true;
  if (*c == "none") return false;
  throw ApiError(400, "'tool_choice' must be \"auto\" or \"none\" (forced tool calls are not supported), got " + shown(*c),
                 "tool_choice");
}

std::vector<int64_t> render_prompt(const json& body, const data::Tokenizer& tokenizer, const ServeLimits& limits) {
  const json* messages = field(body, "messages");
  if (!messages || !messages->is_array() || messages->empty())
    throw ApiError(400, "'messages' must be a non-empty list of messages", "messages");
  const json* tools = field(body, "tools");
  if (tools && (!tools->is_array() || !std::all_of(tools->begin(), tools->end(), [](const json& t) { return t.is_object(); })))
    throw ApiError(400, "'tools' must be a list of objects, got " + shown(*tools), "tools");
  data::RenderOptions ro;
  if (const json* kw = field(body, "chat_template_kwargs")) {
    if (!kw->is_object()) throw ApiError(400, "'chat_template_kwargs' must be an object", "chat_template_kwargs");
    ro.enable_thinking = boolean(*kw, "enable_thinking");
  }
  try {
    const bool use_tools = tools_wanted(body) && tools;
    const data::Conversation c = data::conversation_from_json(*messages, use_tools ? *tools : json(nullptr));
    const auto enc = data::encode_chat(tokenizer, data::render_chat(c, ro), data::MaskRule::AllowEmpty, "messages");
    if (static_cast<int64_t>(enc.ids.size()) > limits.max_prompt_tokens)
      throw ApiError(400, "the prompt has " + std::to_string(enc.ids.size()) + " tokens, more than the server's limit of " +
                              std::to_string(limits.max_prompt_tokens), "messages", "context_length_exceeded");
    return {enc.ids.begin(), enc.ids.end()};
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "messages");
  } catch (const json::exception& e) {
    throw ApiError(400, std::string("messages: ") + e.what(), "messages");
  }
}

}  // namespace

ChatRequest parse_chat_request(std::string_view text, const data::Tokenizer& tokenizer, const ServeLimits& limits,
                               const SamplingOptions& defaults) {
  if (static_cast<int64_t>(text.size()) > limits.max_body_bytes)
    throw ApiError(413, "the request body has " + std::to_string(text.size()) + " bytes, more than the limit of " +
                            std::to_string(limits.max_body_bytes));
  json body;
  if (auto e = try_parse_json(text, body)) throw ApiError(400, "invalid JSON at " + e->where() + ": " + e->reason);
  if (!body.is_object()) throw ApiError(400, "the request body must be a JSON object");
  ChatRequest r;
  if (const json* m = field(body, "model")) {
    if (!m->is_string()) throw ApiError(400, "'model' must be a string, got " + shown(*m), "model");
    r.model = m->get<std::string>();
  }
  if (integer(body, "n", 1, 1).value_or(1) != 1) throw ApiError(400, "'n' must be 1", "n");
  r.sampling = defaults;
  r.sampling.temperature = number(body, "temperature", 0, 2).value_or(defaults.temperature);
  r.sampling.top_p = number(body, "top_p", 0, 1, true).value_or(defaults.top_p);
  // vLLM's top_k: -1 (or 0) is no limit.
  r.sampling.top_k = std::max<int64_t>(0, integer(body, "top_k", -1, INT32_MAX).value_or(defaults.top_k));
  r.sampling.seed = static_cast<uint64_t>(integer(body, "seed", INT64_MIN, INT64_MAX).value_or(0));
  const auto legacy = integer(body, "max_tokens", 1, limits.max_tokens);
  r.max_tokens = integer(body, "max_completion_tokens", 1, limits.max_tokens).value_or(legacy.value_or(limits.max_tokens));
  r.stop = stop_strings(body);
  r.stream = boolean(body, "stream");
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw ApiError(400, "'stream_options' must be an object", "stream_options");
    r.include_usage = boolean(*so, "include_usage");
  }
  r.return_token_ids = boolean(body, "return_token_ids");
  r.prompt = render_prompt(body, tokenizer, limits);
  return r;
}

}  // namespace gt::serve
