#pragma once
// Strict reading of one JSON object of a config file: typed reads by key, errors that name the file and the dotted
// key ("configs/sft.json: 'optimizer.lr' must be a number, got string"), and at the end an error for any key
// nobody read, so a misspelt key is never silently ignored. Shared by every trainer's config and by AutoResearch's.
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "autograd/error.h"

namespace gt::train {

// "integer" and "number" rather than nlohmann's "number" for both, so a message says which one was wrong.
inline const char* type_name(const nlohmann::json& v) {
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return v.type_name();
}

// One JSON object of a config. Holds a reference to it: the object must outlive the section.
class ConfigSection {
 public:
  ConfigSection(const nlohmann::json& j, std::string file, std::string prefix)
      : j_(j), file_(std::move(file)), prefix_(std::move(prefix)) {
    if (j.is_object()) return;
    if (prefix_.empty()) fail(file_, ": the config must be an object, got ", type_name(j));
    fail(file_, ": '", prefix_, "' must be an object, got ", type_name(j));
  }

  bool has(const char* key) const { return j_.contains(key); }
  std::string name(const char* key) const {
    std::string p = prefix_;
    if (!p.empty() && *key) p += ".";
    return p + key;
  }
  [[noreturn]] void bad(const char* key, const std::string& why) const { fail(file_, ": '", name(key), "' ", why); }

  const nlohmann::json* find(const char* key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  void require(const char* key) const {
    if (!j_.contains(key)) fail(file_, ": missing required key '", name(key), "'");
  }

  std::string str(const char* key, const std::string& def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_string()) bad(key, std::string("must be a string, got ") + type_name(*v));
    return v->get<std::string>();
  }
  std::string path(const char* key, const std::string& def = "") {
    std::string s = str(key, def);
    if (has(key) && s.empty()) bad(key, "must not be empty");
    return s;
  }
  int64_t integer(const char* key, int64_t def, int64_t min) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_number_integer()) bad(key, std::string("must be an integer, got ") + type_name(*v));
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) bad(key, "is too large");
    const int64_t x = v->get<int64_t>();
    if (x < min) bad(key, "must be >= " + std::to_string(min) + ", got " + std::to_string(x));
    return x;
  }
  uint64_t seed(const char* key, uint64_t def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
      bad(key, std::string("must be a non-negative integer, got ") + (v->is_number() ? v->dump() : type_name(*v)));
    return v->get<uint64_t>();
  }
  double number(const char* key, double def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_number()) bad(key, std::string("must be a number, got ") + type_name(*v));
    return v->get<double>();
  }
  std::optional<double> optional_number(const char* key, std::optional<double> def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (v->is_null()) return std::nullopt;
    if (!v->is_number()) bad(key, std::string("must be a number or null, got ") + type_name(*v));
    return v->get<double>();
  }
  bool boolean(const char* key, bool def) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    if (!v->is_boolean()) bad(key, std::string("must be true or false, got ") + type_name(*v));
    return v->get<bool>();
  }
  template <class E>
  E choice(const char* key, E def, std::initializer_list<std::pair<const char*, E>> options) {
    const nlohmann::json* v = find(key);
    if (!v) return def;
    std::string names;
    for (const auto& [n, e] : options) {
      if (v->is_string() && v->get<std::string>() == n) return e;
      names += (names.empty() ? "" : ", ") + std::string(n);
    }
    bad(key, "must be one of " + names + ", got " + v->dump());
  }
  ConfigSection section(const char* key) {
    const nlohmann::json* v = find(key);
    static const nlohmann::json empty = nlohmann::json::object();
    return ConfigSection(v ? *v : empty, file_, name(key));
  }

  // Every key must have been read: a misspelt key would otherwise be silently ignored.
  void done() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!seen_.count(it.key())) fail(file_, ": unknown key '", name(it.key().c_str()), "'");
  }

 private:
  const nlohmann::json& j_;
  std::string file_, prefix_;
  std::set<std::string> seen_;
};

}  // namespace gt::train
