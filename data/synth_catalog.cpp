#include "data/synth_catalog.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <stdexcept>

#include "base/json_file.h"
#include "data/embedded_data.h"
#include "data/plan.h"

namespace gt::data::synth {

namespace {

using nlohmann::json;

// ---- Reading the JSON ----
// Every field is checked for its type, and an error names where it is: "slots[3] (city).values",
// "domains[1] (travel).plugins[0] (Flight Search).method".

[[noreturn]] void broken(const std::string& what) { throw std::logic_error("synth catalog: " + what); }

std::string at(const std::string& where, std::size_t i, const std::string& name) {
  return where + "[" + std::to_string(i) + "] (" + name + ")";
}

// The fields of one JSON object, each read once; a field nobody reads is an error, so a misspelt key is not
// silently ignored.
class Fields {
 public:
  Fields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {
    if (!obj_.is_object()) broken(where_ + " is not an object");
  }

  // Once the name is known: errors then say which slot, domain or plugin they are in.
  void name_as(std::string where) { where_ = std::move(where); }

  std::string string(const char* key, bool required = true) {
    const json* v = find(key, required);
    if (!v) return "";
    if (!v->is_string()) broken(path(key) + " is not a string");
    return v->get<std::string>();
  }

  bool boolean(const char* key, bool fallback) {
    const json* v = find(key, false);
    if (!v) return fallback;
    if (!v->is_boolean()) broken(path(key) + " is not a boolean");
    return v->get<bool>();
  }

  const json& array(const char* key, bool required = true) {
    static const json none = json::array();
    const json* v = find(key, required);
    if (!v) return none;
    if (!v->is_array()) broken(path(key) + " is not an array");
    return *v;
  }

  std::vector<std::string> strings(const char* key, bool required = true) {
    std::vector<std::string> out;
    const json& a = array(key, required);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) broken(path(key) + "[" + std::to_string(i) + "] is not a string");
      out.push_back(a[i].get<std::string>());
    }
    return out;
  }

  void done() const {
    for (auto it = obj_.begin(); it != obj_.end(); ++it)
      if (!read_.count(it.key())) broken(where_ + ": unexpected field '" + it.key() + "'");
  }

  std::string path(const char* key) const { return where_ + "." + key; }

 private:
  const json& obj_;
  std::string where_;
  std::set<std::string> read_;

  const json* find(const char* key, bool required) {
    read_.insert(key);
    auto it = obj_.find(key);
    if (it != obj_.end()) return &*it;
    if (required) broken(where_ + ": no field '" + key + "'");
    return nullptr;
  }
};

ParamType type_from(const std::string& name, const std::string& where) {
  for (ParamType t : {ParamType::string, ParamType::integer, ParamType::number, ParamType::boolean})
    if (type_name(t) == name) return t;
  broken(where + " is \"" + name + "\", not string, integer, number or boolean");
}

const Slot* find_slot(const std::vector<Slot>& slots, std::string_view name) {
  auto it = std::find_if(slots.begin(), slots.end(), [&](const Slot& s) { return s.name == name; });
  return it == slots.end() ? nullptr : &*it;
}

// A slot with "values_from" takes its type, values and cue from an earlier slot ("city_from" from "city").
Slot read_slot(const json& j, std::size_t i, const std::vector<Slot>& earlier) {
  Fields f(j, "slots[" + std::to_string(i) + "]");
  Slot s;
  s.name = f.string("name");
  f.name_as(at("slots", i, s.name));
  s.description = f.string("description");
  const std::string from = f.string("values_from", false);
  if (!from.empty()) {
    const Slot* of = find_slot(earlier, from);
    if (!of) broken(f.path("values_from") + ": no earlier slot named '" + from + "'");
    s.type = of->type;
    s.values = of->values;
    s.cue = of->cue;
  } else {
    s.type = type_from(f.string("type"), f.path("type"));
    for (const auto& v : f.array("values")) s.values.push_back(v);
    s.cue = f.string("cue", false);
  }
  f.done();
  return s;
}

Param read_param(const json& j, const std::string& where) {
  Fields f(j, where);
  Param p;
  p.name = f.string("name");
  p.required = f.boolean("required", true);
  p.slot = f.string("slot", false);
  p.description = f.string("description", false);
  f.done();
  return p;
}

// FNV-1a: stable across platforms and runs, unlike std::hash.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

Plugin read_plugin(const json& j, const std::string& where, const Domain& domain) {
  Fields f(j, where);
  Plugin p;
  p.name = f.string("name");
  f.name_as(where + " (" + p.name + ")");
  p.id = "plugin-" + std::to_string(1700000000 + fnv1a(p.name) % 100000000);
  p.description = f.string("description");
  p.identifier = domain.identifier;
  p.method = f.string("method");
  p.domain = domain.name;
  const json& params = f.array("params");
  for (std::size_t i = 0; i < params.size(); ++i)
    p.params.push_back(read_param(params[i], f.path("params") + "[" + std::to_string(i) + "]"));
  p.makes = f.string("makes", false);
  p.takes = f.strings("takes", false);
  p.clauses = f.strings("clauses");
  p.follow_ups = f.strings("follow_ups", false);
  f.done();
  return p;
}

// The holes of a phrasing, in order.
std::vector<std::string> holes(const std::string& phrasing) {
  std::vector<std::string> out;
  for (std::size_t open = phrasing.find('{'); open != std::string::npos; open = phrasing.find('{', open + 1)) {
    std::size_t close = phrasing.find('}', open);
    if (close == std::string::npos) broken("unclosed '{' in \"" + phrasing + "\"");
    out.push_back(phrasing.substr(open + 1, close - open - 1));
  }
  return out;
}

void check_slot(const Slot& s) {
  const bool generated = s.name == "date" || s.name == "end_date";
  if (s.values.empty() != generated) broken("slot '" + s.name + "' needs values");
  if ((s.type == ParamType::boolean) == s.cue.empty())
    broken("slot '" + s.name + "': booleans, and only they, have a cue");
  for (const auto& v : s.values) {
    bool typed = (s.type == ParamType::string && v.is_string()) ||
                 (s.type == ParamType::integer && v.is_number_integer()) ||
                 (s.type == ParamType::number && v.is_number()) || (s.type == ParamType::boolean && v.is_boolean());
    if (!typed) broken("slot '" + s.name + "' value " + v.dump() + " is not a " + std::string(type_name(s.type)));
    // Cleaning would drop a plan carrying this value.
    if (!value_hydrated(v)) broken("slot '" + s.name + "' value " + v.dump() + " breaks the §1.3 value rules");
  }
}

void check_plugin(const Plugin& p, const std::vector<Slot>& slots) {
  std::set<std::string> names;
  for (const auto& prm : p.params) {
    if (!names.insert(prm.name).second) broken(p.name + ": parameter '" + prm.name + "' twice");
    if (!find_slot(slots, prm.slot_name())) broken(p.name + ": no slot named " + prm.slot_name());
  }
  if (p.clauses.empty() && p.follow_ups.empty()) broken(p.name + ": no phrasing");
  if (p.takes.empty() != p.follow_ups.empty()) broken(p.name + ": follow-ups go with something to take");
  for (const auto* phrasings : {&p.clauses, &p.follow_ups})
    for (const auto& phrasing : *phrasings) {
      // A request may start with the phrasing, and capitalizing it must not change a value.
      if (phrasing.empty() || phrasing.front() == '{') broken(p.name + ": \"" + phrasing + "\" starts with a hole");
      auto hs = holes(phrasing);
      std::set<std::string> seen;
      for (const auto& h : hs) {
        if (!names.count(h)) broken(p.name + ": \"" + phrasing + "\" has a hole for no parameter: " + h);
        if (!seen.insert(h).second) broken(p.name + ": \"" + phrasing + "\" fills " + h + " twice");
      }
      for (const auto& prm : p.params)
        if (prm.required && !seen.count(prm.name))
          broken(p.name + ": \"" + phrasing + "\" leaves out required " + prm.name);
    }
}

std::vector<Slot> read_slots(const json& slots) {
  std::vector<Slot> out;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    Slot s = read_slot(slots[i], i, out);
    if (find_slot(out, s.name)) broken("two slots named " + s.name);
    check_slot(s);
    out.push_back(std::move(s));
  }
  return out;
}

void read_domains(const json& domains, Catalog& c) {
  std::set<std::string> ids, names;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    Fields f(domains[i], "domains[" + std::to_string(i) + "]");
    Domain d;
    d.name = f.string("name");
    f.name_as(at("domains", i, d.name));
    d.identifier = f.string("identifier");
    d.topic = f.string("topic");
    const json& plugins = f.array("plugins");
    f.done();
    for (const auto& other : c.domains)
      if (other.name == d.name) broken("two domains named " + d.name);
    for (std::size_t k = 0; k < plugins.size(); ++k) {
      Plugin p = read_plugin(plugins[k], f.path("plugins") + "[" + std::to_string(k) + "]", d);
      if (!names.insert(p.name).second) broken("two plugins named " + p.name);
      if (!ids.insert(p.id).second) broken(p.name + ": pluginId " + p.id + " is taken");
      check_plugin(p, c.slots);
      c.plugins.push_back(std::move(p));
    }
    c.domains.push_back(std::move(d));
  }
}

}  // namespace

Catalog parse_catalog(std::string_view json_text) {
  json root;
  if (auto e = try_parse_json(json_text, root)) broken("not valid JSON (" + e->where() + ": " + e->reason + ")");
  Fields top(root, "the top level");
  Catalog c;
  c.slots = read_slots(top.array("slots"));
  read_domains(top.array("domains"), c);
  top.done();
  // A follow-up is only reachable after a step that makes what it takes; a typo in either would hide it.
  std::set<std::string> made;
  for (const auto& p : c.plugins) made.insert(p.makes);
  for (const auto& p : c.plugins)
    for (const auto& t : p.takes)
      if (t != "*" && !made.count(t)) broken(p.name + " takes '" + t + "', which no plugin makes");
  return c;
}

namespace {

const Catalog& the_catalog() {
  static const Catalog c = parse_catalog(embedded_data("synth_catalog.json"));
  return c;
}

}  // namespace

std::string_view type_name(ParamType t) {
  switch (t) {
    case ParamType::string:
      return "string";
    case ParamType::integer:
      return "integer";
    case ParamType::number:
      return "number";
    case ParamType::boolean:
      return "boolean";
  }
  return "?";
}

bool Plugin::accepts(std::string_view artifact) const {
  if (artifact.empty()) return false;
  return std::any_of(takes.begin(), takes.end(), [&](const std::string& t) { return t == "*" || t == artifact; });
}

const Param& Plugin::param(std::string_view n) const {
  auto it = std::find_if(params.begin(), params.end(), [&](const Param& p) { return p.name == n; });
  if (it == params.end()) broken(name + " has no parameter " + std::string(n));
  return *it;
}

json Plugin::parameters_json(bool with_descriptions) const {
  json out = json::object();
  for (const auto& p : params) {
    const Slot& s = slot(p.slot_name());
    json j = {{"type", type_name(s.type)}, {"required", p.required}};
    if (with_descriptions) j["description"] = p.description.empty() ? s.description : p.description;
    out[p.name] = std::move(j);
  }
  return out;
}

const std::vector<Domain>& domains() { return the_catalog().domains; }

const std::vector<Plugin>& catalog() { return the_catalog().plugins; }

const Slot& slot(std::string_view name) {
  const Slot* s = find_slot(the_catalog().slots, name);
  if (!s) broken("no slot named " + std::string(name));
  return *s;
}

std::string value_text(const Slot& s, const json& value) {
  if (value.is_boolean()) return s.cue;
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace gt::data::synth
