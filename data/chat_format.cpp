#include "data/chat_format.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"

namespace gt::data {

namespace {

using nlohmann::json;

constexpr std::string_view kQuote = "<|\"|>";

// ---- Python semantics of the values the template prints and tests -------------------------------------------

// Python's str.isspace() for the code point starting at s[i]; `len` gets its UTF-8 length.
bool space_at(std::string_view s, std::size_t i, std::size_t& len) {
  auto b = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  unsigned c = b(0);
  len = 1;
  if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF && (b(1) & 0xC0) == 0x80) {
    len = 2;
    cp = ((c & 0x1F) << 6) | (b(1) & 0x3F);
  } else if (c >= 0xE0 && c <= 0xEF && (b(1) & 0xC0) == 0x80 && (b(2) & 0xC0) == 0x80) {
    len = 3;
    cp = ((c & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  } else {
    return false;  // four-byte characters hold no spaces
  }
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Jinja's `trim` (Python's str.strip()).
std::string_view py_strip(std::string_view s) {
  std::size_t len = 0;
  while (!s.empty() && space_at(s, 0, len)) s.remove_prefix(len);
  while (!s.empty()) {
    std::size_t start = s.size() - 1;
    while (start > 0 && s.size() - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    if (!space_at(s, start, len) || start + len != s.size()) break;
    s.remove_suffix(len);
  }
  return s;
}

// Python's repr() of a float: the shortest round-trip digits, fixed notation for exponents in [-4, 16).
std::string py_float(double v) {
  std::array<char, 64> buf;
  auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific);
  std::string sci(buf.data(), res.ptr);
  std::string sign;
  if (sci[0] == '-') sign = "-", sci.erase(0, 1);
  std::size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exp = std::atoi(sci.c_str() + e + 1);
  if (v == 0) return sign + "0.0";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return sign + "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
    std::size_t int_len = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= int_len) return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
    return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
  }
  std::string out = sign + digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  std::string mag = std::to_string(std::abs(exp));
  return out + (exp < 0 ? "e-" : "e+") + (mag.size() < 2 ? "0" : "") + mag;
}

std::string py_repr(const json& v);

std::string py_repr_string(const std::string& s) {
  char q = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, q);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == '\\' || ch == q) {
      out += '\\';
      out += ch;
    } else if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out + q;
}

// Python's str() of a value, which is what `{{ value }}` prints.
std::string py_str(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get<std::string>();
    case json::value_t::null:
      return "None";
    case json::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case json::value_t::number_integer:
      return std::to_string(v.get<std::int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(v.get<std::uint64_t>());
    case json::value_t::number_float:
      return py_float(v.get<double>());
    default:
      return py_repr(v);
  }
}

std::string py_repr(const json& v) {
  if (v.is_string()) return py_repr_string(v.get<std::string>());
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + py_repr(v[i]);
    return out + "]";
  }
  if (v.is_object()) {
    std::string out = "{";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it, first = false)
      out += (first ? "" : ", ") + py_repr_string(it.key()) + ": " + py_repr(it.value());
    return out + "}";
  }
  return py_str(v);
}

bool truthy(const json* v) {
  if (!v) return false;
  switch (v->type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return v->get<bool>();
    case json::value_t::number_integer:
      return v->get<std::int64_t>() != 0;
    case json::value_t::number_unsigned:
      return v->get<std::uint64_t>() != 0;
    case json::value_t::number_float:
      return v->get<double>() != 0;
    case json::value_t::string:
      return !v->get_ref<const std::string&>().empty();
    default:
      return !v->empty();
  }
}

// `obj[key]` in the template: undefined (nullptr) unless obj is a mapping holding key.
const json* get(const json* obj, const char* key) {
  if (!obj || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

// `value | upper`: an undefined value prints as nothing.
std::string upper(const json* v) {
  std::string s = v ? py_str(*v) : "";
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::vector<std::pair<std::string, const json*>> dictsort(const json& obj) {
  if (!obj.is_object()) throw Error("chat template: dictsort needs an object, got " + obj.dump());
  std::vector<std::pair<std::string, const json*>> items;
  for (auto it = obj.begin(); it != obj.end(); ++it) items.emplace_back(it.key(), &it.value());
  // nlohmann keeps keys in byte order, so a stable sort leaves case-insensitive ties in byte order.
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return lower_ascii(a.first) < lower_ascii(b.first); });
  return items;
}

const json& array_of(const json* v, const char* what) {
  if (!v->is_array()) throw Error(std::string("chat template: '") + what + "' must be an array, got " + v->dump());
  return *v;
}

std::string gemma_string(const std::string& s) { return std::string(kQuote) + s + std::string(kQuote); }

// ---- the template's macros -----------------------------------------------------------------------------------

std::string format_argument(const json& arg, bool escape_keys) {
  if (arg.is_null()) return "null";
  if (arg.is_string()) return gemma_string(arg.get<std::string>());
  if (arg.is_boolean()) return arg.get<bool>() ? "true" : "false";
  if (arg.is_object()) {
    std::string out = "{";
    bool first = true;
    for (const auto& [key, value] : dictsort(arg)) {
      if (!first) out += ',';
      first = false;
      out += (escape_keys ? gemma_string(key) : key) + ":" + format_argument(*value, escape_keys);
    }
    return out + "}";
  }
  if (arg.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < arg.size(); ++i) out += (i ? "," : "") + format_argument(arg[i], escape_keys);
    return out + "]";
  }
  return py_str(arg);
}

std::string required_list(const json* required, const char* what) {
  std::string out;
  const json& items = array_of(required, what);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += gemma_string(py_str(items[i]));
  }
  return out;
}

// The macro writes a comma before a field when an earlier field of the same property was written.
struct CommaList {
  std::string& out;
  bool any = false;
  void next() {
    if (any) out += ',';
    any = true;
  }
};

std::string format_parameters(const json& properties, bool filter_keys);

std::string format_items(const json& items) {
  std::string out;
  bool first = true;
  for (const auto& [key, value] : dictsort(items)) {
    if (value->is_null()) continue;
    if (!first) out += ',';
    first = false;
    if (key == "properties") {
      out += "properties:{" + (value->is_object() ? format_parameters(*value, false) : "") + "}";
    } else if (key == "required") {
      out += "required:[" + required_list(value, "items.required") + "]";
    } else if (key == "type") {
      if (value->is_string()) {
        out += "type:" + format_argument(upper(value), true);
      } else {
        json upper_all = json::array();
        for (const json& t : array_of(value, "items.type")) upper_all.push_back(upper(&t));
        out += "type:" + format_argument(upper_all, true);
      }
    } else {
      out += key + ":" + format_argument(*value, true);
    }
  }
  return out;
}

std::string format_parameters(const json& properties, bool filter_keys) {
  static constexpr std::array<std::string_view, 5> kStandard = {"description", "type", "properties", "required",
                                                                "nullable"};
  std::string out;
  bool first = true;
  for (const auto& [key, value] : dictsort(properties)) {
    if (filter_keys && std::find(kStandard.begin(), kStandard.end(), key) != kStandard.end()) continue;
    if (!first) out += ',';
    first = false;
    out += key + ":{";
    CommaList fields{out};
    if (const json* d = get(value, "description"); truthy(d)) {
      fields.next();
      out += "description:" + gemma_string(py_str(*d));
    }
    std::string type = upper(get(value, "type"));
    if (type == "STRING") {
      if (const json* e = get(value, "enum"); truthy(e)) {
        fields.next();
        out += "enum:" + format_argument(*e, true);
      }
    } else if (type == "ARRAY") {
      if (const json* items = get(value, "items"); items && items->is_object() && !items->empty()) {
        fields.next();
        out += "items:{" + format_items(*items) + "}";
      }
    }
    if (truthy(get(value, "nullable"))) {
      fields.next();
      out += "nullable:true";
    }
    if (type == "OBJECT") {
      const json* props = get(value, "properties");
      if (props && props->is_object()) {
        fields.next();
        out += "properties:{" + format_parameters(*props, false) + "}";
      } else if (value->is_object()) {
        fields.next();
        out += "properties:{" + format_parameters(*value, true) + "}";
      }
      if (const json* r = get(value, "required"); truthy(r)) {
        fields.next();
        out += "required:[" + required_list(r, "required") + "]";
      }
    }
    fields.next();
    out += "type:" + gemma_string(type) + "}";
  }
  return out;
}

std::string format_function_declaration(const json& function) {
  const json* name = get(&function, "name");
  const json* description = get(&function, "description");
  std::string out = "declaration:" + (name ? py_str(*name) : "") +
                    "{description:" + gemma_string(description ? py_str(*description) : "");
  if (const json* params = get(&function, "parameters"); truthy(params)) {
    out += ",parameters:{";
    if (const json* props = get(params, "properties"); truthy(props))
      out += "properties:{" + format_parameters(*props, false) + "},";
    if (const json* r = get(params, "required"); truthy(r)) out += "required:[" + required_list(r, "required") + "],";
    if (const json* t = get(params, "type"); truthy(t)) out += "type:" + gemma_string(upper(t)) + "}";
  }
  if (function.is_object() && function.contains("response")) {
    const json* response = get(&function, "response");
    out += ",response:{";
    if (const json* d = get(response, "description"); truthy(d)) out += "description:" + gemma_string(py_str(*d)) + ",";
    if (upper(get(response, "type")) == "OBJECT") out += "type:" + gemma_string("OBJECT") + "}";
  }
  return out + "}";
}

// Drops every <|channel>...<channel|> block, as the template does to assistant content.
std::string strip_thinking(std::string_view text) {
  constexpr std::string_view kOpen = "<|channel>", kClose = "<channel|>";
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t close = text.find(kClose, pos);
    std::string_view part = text.substr(pos, close == std::string_view::npos ? std::string_view::npos : close - pos);
    out += part.substr(0, part.find(kOpen));
    if (close == std::string_view::npos) break;
    pos = close + kClose.size();
  }
  return std::string(py_strip(out));
}

std::string tool_call_arguments(const json& args) {
  if (args.is_object()) {
    std::string out;
    bool first = true;
    for (const auto& [key, value] : dictsort(args)) {
      out += (first ? "" : ",") + key + ":" + format_argument(*value, false);
      first = false;
    }
    return out;
  }
  if (args.is_string()) {
    const std::string& raw = args.get_ref<const std::string&>();
    std::string_view s = py_strip(raw);
    if (!s.empty() && s.front() == '{' && s.back() == '}') return std::string(s.substr(1, s.size() - 2));
    return raw;
  }
  return "";
}

// format_tool_response_block, without its opening <|tool_response> (the caller decides who wrote that).
std::string tool_response_body(const std::string& name, const json& response) {
  std::string out = "response:" + name + "{";
  if (response.is_object()) {
    bool first = true;
    for (const auto& [key, value] : dictsort(response)) {
      out += (first ? "" : ",") + key + ":" + format_argument(*value, false);
      first = false;
    }
  } else {
    out += "value:" + format_argument(response, false);
  }
  return out + "}<tool_response|>";
}

std::string_view role_name(Role r) {
  switch (r) {
    case Role::System:
      return "system";
    case Role::Developer:
      return "developer";
    case Role::User:
      return "user";
    case Role::Assistant:
      return "model";
    case Role::Tool:
      return "tool";
  }
  return "";
}

struct SegmentBuilder {
  std::vector<Segment> segments;
  void add(bool trainable, std::string_view text) {
    if (text.empty()) return;
    if (!segments.empty() && segments.back().trainable == trainable)
      segments.back().text += text;
    else
      segments.push_back({std::string(text), trainable});
  }
  void prompt(std::string_view text) { add(false, text); }
};

const std::string* text_of(const json& content) {
  return content.is_string() ? &content.get_ref<const std::string&>() : nullptr;
}

std::string candidates_json(const std::vector<Candidate>& candidates) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Candidate& c : candidates) {
    nlohmann::ordered_json o = {{"pluginId", c.plugin_id},
                                {"name", c.name},
                                {"description", c.description},
                                {"identifier", c.identifier},
                                {"method", c.method}};
    if (c.parameters) o["parameters"] = nlohmann::ordered_json::parse(c.parameters->dump());
    list.push_back(std::move(o));
  }
  return list.dump(2);
}

}  // namespace

std::vector<Segment> render_chat(const Conversation& conversation, const RenderOptions& options) {
  // What the last rendered message ended with decides the generation prompt.
  enum class Last { Other, ToolCall, ToolResponse };
  const auto& all = conversation.messages;
  SegmentBuilder out;
  Last last = Last::Other;
  out.prompt("<bos>");

  std::size_t first = 0;
  bool leading_system = !all.empty() && (all[0].role == Role::System || all[0].role == Role::Developer);
  if (options.enable_thinking || !conversation.tools.empty() || leading_system) {
    out.prompt("<|turn>system\n");
    if (options.enable_thinking) out.prompt("<|think|>\n");
    if (leading_system) {
      if (const std::string* text = text_of(all[0].content)) out.prompt(py_strip(*text));
      first = 1;
    }
    for (const json& tool : conversation.tools)
      out.prompt("<|tool>" + std::string(py_strip(format_function_declaration(tool))) + "<tool|>");
    out.prompt("<turn|>\n");
  }

  std::vector<const ChatMessage*> msgs;
  for (std::size_t i = first; i < all.size(); ++i) msgs.push_back(&all[i]);
  std::ptrdiff_t last_user = -1;
  for (std::size_t i = 0; i < msgs.size(); ++i)
    if (msgs[i]->role == Role::User) last_user = static_cast<std::ptrdiff_t>(i);

  std::optional<Role> prev_non_tool;
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const ChatMessage& m = *msgs[i];
    if (m.role == Role::Tool) continue;
    last = Last::Other;
    bool model = m.role == Role::Assistant;
    if (!(model && prev_non_tool == Role::Assistant)) out.prompt("<|turn>" + std::string(role_name(m.role)) + "\n");

    bool gate = static_cast<std::ptrdiff_t>(i) > last_user || (options.preserve_thinking && !m.tool_calls.empty());
    if (!m.reasoning.empty() && gate) out.add(model, "<|channel>thought\n" + m.reasoning + "\n<channel|>");

    for (const ToolCall& call : m.tool_calls) {
      out.add(model, "<|tool_call>call:" + call.name + "{" + tool_call_arguments(call.arguments) + "}<tool_call|>");
      last = Last::ToolCall;
    }

    // The model stops on <|tool_response> after its calls, so that first token is its own; the results are not.
    bool responded = false;
    auto response = [&](const std::string& name, const json& value) {
      out.add(model && !m.tool_calls.empty() && !responded, "<|tool_response>");
      out.prompt(tool_response_body(name, value));
      responded = true;
      last = Last::ToolResponse;
    };
    if (!m.tool_responses.empty()) {
      for (const ToolResponse& r : m.tool_responses) response(r.name.empty() ? "unknown" : r.name, r.response);
    } else if (!m.tool_calls.empty()) {
      for (std::size_t k = i + 1; k < msgs.size() && msgs[k]->role == Role::Tool; ++k) {
        const ChatMessage& result = *msgs[k];
        std::string name = result.name.empty() ? "unknown" : result.name;
        for (const ToolCall& call : m.tool_calls)
          if (call.id == result.tool_call_id) name = call.name;
        response(name, result.content);
      }
    }

    std::string content;
    if (const std::string* text = text_of(m.content))
      content = model ? strip_thinking(*text) : std::string(py_strip(*text));
    out.add(model, content);
    bool has_content = !py_strip(content).empty();

    const ChatMessage* next = nullptr;
    for (std::size_t k = i + 1; k < msgs.size() && !next; ++k)
      if (msgs[k]->role != Role::Tool) next = msgs[k];
    bool continues = model && next && next->role == Role::Assistant && (m.tool_calls.empty() || responded);

    if (last == Last::ToolCall && !responded) {
      out.add(model, "<|tool_response>");
    } else if (!continues && !(responded && !has_content && !next)) {
      out.add(model, "<turn|>");
      out.prompt("\n");
    }
    prev_non_tool = m.role;
  }

  if (options.add_generation_prompt) {
    if (last != Last::ToolResponse && last != Last::ToolCall)
      out.prompt("<|turn>model\n");
    else if (last == Last::ToolResponse && options.enable_thinking)
      out.prompt("<|channel>thought\n");
  }
  return std::move(out.segments);
}

std::string join_segments(const std::vector<Segment>& segments) {
  std::string out;
  for (const Segment& s : segments) out += s.text;
  return out;
}

std::vector<Segment> render_plan_sample(const PlanSample& sample, bool with_target) {
  if (with_target && !sample.target)
    throw Error(sample.source + ": sample '" + sample.id + "' has no target to render");
  Conversation c;
  auto add = [&](Role role, std::string_view text) {
    c.messages.emplace_back();
    c.messages.back().role = role;
    c.messages.back().content = std::string(text);
  };
  add(Role::System, sample.system_prompt());
  for (const Message& m : sample.messages) add(m.role == "assistant" ? Role::Assistant : Role::User, m.content);
  c.messages.back().content = "YOUR TASK IS TO GENERATE A JSON STRICTLY and CORRECTLY\n" +
                              candidates_json(sample.candidates) +
                              "\n\nUser Request: " + sample.messages.back().content;
  std::vector<Segment> segments = {
      {join_segments(render_chat(c, {.enable_thinking = true, .add_generation_prompt = true})), false}};
  if (with_target)
    segments.push_back(
        {"<|channel>thought\n" + sample.target->thinking + "<channel|>" + sample.target->plan.dump() + "<turn|>",
         true});
  return segments;
}

EncodedChat encode_chat(const Tokenizer& tokenizer, const std::vector<Segment>& segments, MaskRule rule,
                        std::string_view origin) {
  std::string where = origin.empty() ? "" : std::string(origin) + ": ";
  std::optional<int32_t> bos = tokenizer.token_to_id("<bos>");
  if (!bos) throw Error(where + "the tokenizer has no <bos> token");
  EncodedChat out;
  for (const Segment& s : segments) {
    tokenizer.encode_into(s.text, EncodeOptions{}, out.ids);
    out.mask.resize(out.ids.size(), s.trainable ? 1 : 0);
  }
  auto count = std::count(out.ids.begin(), out.ids.end(), *bos);
  if (count != 1 || out.ids[0] != *bos) {
    auto first = std::find(out.ids.begin(), out.ids.end(), *bos);
    throw Error(where + "expected exactly one <bos>, at position 0; found " + std::to_string(count) +
                (count ? " (the first at position " + std::to_string(first - out.ids.begin()) + ")" : ""));
  }
  if (rule == MaskRule::RequireTrainable && std::find(out.mask.begin(), out.mask.end(), 1) == out.mask.end())
    throw Error(where + "no trainable token: the loss mask is empty");
  return out;
}

EncodedChat encode_plan_sample(const Tokenizer& tokenizer, const PlanSample& sample, bool with_target) {
  return encode_chat(tokenizer, render_plan_sample(sample, with_target),
                     with_target ? MaskRule::RequireTrainable : MaskRule::AllowEmpty,
                     sample.source + ": sample '" + sample.id + "'");
}

std::vector<int32_t> chat_stop_ids(const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  for (const char* t : {"<eos>", "<turn|>", "<|tool_response>"})
    if (auto id = tokenizer.token_to_id(t)) ids.push_back(*id);
  return ids;
}

}  // namespace gt::data
