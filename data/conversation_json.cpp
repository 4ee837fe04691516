// Reading a conversation from its JSON form (OpenAI-style messages and tools); errors name the broken field.
#include "data/chat_format.h"

#include <array>

#include "base/error.h"

namespace gt::data {

namespace {

using nlohmann::json;

struct JsonReader {
  std::string path;
  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(path + (field.empty() ? "" : "." + field) + " " + problem);
  }
  JsonReader at(const std::string& field) const { return {path + "." + field}; }
  JsonReader at(std::size_t i) const { return {path + "[" + std::to_string(i) + "]"}; }
  std::string string(const json& obj, const char* key, bool required) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) fail(key, "is missing");
      return "";
    }
    if (!it->is_string()) fail(key, "must be a string");
    return it->get<std::string>();
  }
  const json& array(const json& obj, const char* key) const {
    static const json kEmpty = json::array();
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return kEmpty;
    if (!it->is_array()) at(key).fail("", "must be an array");
    return *it;
  }
};

Role role_from(const JsonReader& r, const std::string& s) {
  static constexpr std::array<std::pair<std::string_view, Role>, 5> kRoles = {{{"system", Role::System},
                                                                               {"developer", Role::Developer},
                                                                               {"user", Role::User},
                                                                               {"assistant", Role::Assistant},
                                                                               {"tool", Role::Tool}}};
  for (const auto& [name, role] : kRoles)
    if (s == name) return role;
  r.fail("role", "must be one of system, developer, user, assistant, tool (got \"" + s + "\")");
}

ToolCall tool_call_from(const JsonReader& r, const json& j) {
  if (!j.is_object()) r.fail("", "must be an object");
  const json& f = j.contains("function") ? j["function"] : j;
  JsonReader fr = j.contains("function") ? r.at("function") : r;
  if (!f.is_object()) fr.fail("", "must be an object");
  ToolCall call{fr.string(f, "name", true), f.value("arguments", json::object()), std::nullopt};
  if (j.contains("id") && !j["id"].is_null()) call.id = r.string(j, "id", true);
  return call;
}

ChatMessage message_from(const JsonReader& r, const json& j) {
  if (!j.is_object()) r.fail("", "must be an object");
  ChatMessage m;
  m.role = role_from(r, r.string(j, "role", true));
  if (auto it = j.find("content"); it != j.end()) m.content = *it;
  bool scalar_ok = m.role == Role::Tool && (m.content.is_number() || m.content.is_boolean());
  if (!m.content.is_null() && !m.content.is_string() && !scalar_ok)
    r.fail("content", m.role == Role::Tool ? "must be a string, a number or a boolean (content parts are not "
                                             "supported; give structured results as tool_responses)"
                                           : "must be a string (content parts are not supported)");
  m.reasoning = r.string(j, "reasoning", false);
  if (m.reasoning.empty()) m.reasoning = r.string(j, "reasoning_content", false);
  const json& calls = r.array(j, "tool_calls");
  for (std::size_t i = 0; i < calls.size(); ++i)
    m.tool_calls.push_back(tool_call_from(r.at("tool_calls").at(i), calls[i]));
  const json& responses = r.array(j, "tool_responses");
  for (std::size_t i = 0; i < responses.size(); ++i) {
    JsonReader rr = r.at("tool_responses").at(i);
    if (!responses[i].is_object()) rr.fail("", "must be an object");
    if (!responses[i].contains("response")) rr.fail("response", "is missing");
    m.tool_responses.push_back({rr.string(responses[i], "name", false), responses[i]["response"]});
  }
  if (j.contains("tool_call_id") && !j["tool_call_id"].is_null()) m.tool_call_id = r.string(j, "tool_call_id", true);
  m.name = r.string(j, "name", false);
  return m;
}

}  // namespace

Conversation conversation_from_json(const json& messages, const json& tools, std::string_view field) {
  const JsonReader list{std::string(field)};
  if (!messages.is_array()) list.fail("", "must be an array");
  Conversation c;
  for (std::size_t i = 0; i < messages.size(); ++i) c.messages.push_back(message_from(list.at(i), messages[i]));
  if (tools.is_null()) return c;
  if (!tools.is_array()) throw Error("tools must be an array");
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    const json& f = t.is_object() && t.contains("function") ? t["function"] : t;
    if (!f.is_object()) JsonReader{"tools"}.at(i).fail("", "must be a function declaration object");
    c.tools.push_back(f);
  }
  return c;
}

}  // namespace gt::data
