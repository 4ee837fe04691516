#include "train/config_overrides.h"

#include "base/error.h"
#include "base/json_file.h"
#include "train/config_names.h"

namespace gt::train {

using nlohmann::json;

namespace {

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  while (true) {
    const std::size_t dot = key.find('.', from);
    parts.push_back(key.substr(from, dot == std::string::npos ? dot : dot - from));
    if (dot == std::string::npos) return parts;
    from = dot + 1;
  }
}

void erase_path(json& config, const std::string& key) {
  json* v = &config;
  const auto parts = split_dots(key);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!v->is_object() || !v->contains(parts[i])) return;
    v = &(*v)[parts[i]];
  }
  if (v->is_object()) v->erase(parts.back());
}

// Every name of the setting `key` names, ours first (just `key` when it has no other).
std::vector<std::string> names_of(const std::string& key) {
  std::string ours = key;
  for (const KeyName& k : key_names())
    if (k.ours && key == k.hf) ours = k.ours;
  std::vector<std::string> names{ours};
  for (const KeyName& k : key_names())
    if (k.ours && ours == k.ours && ours != k.hf) names.push_back(k.hf);
  return names;
}

void set_path(json& config, const Override& o) {
  json value;
  if (try_parse_json(o.value, value)) value = o.value;  // not JSON: a string
  json* v = &config;
  for (const std::string& part : split_dots(o.key)) {
    if (part.empty()) fail(o.origin, ": '", o.key, "' has an empty part");
    if (v->is_null()) *v = json::object();  // a new section
    if (!v->is_object()) fail(o.origin, ": '", o.key, "' goes inside a value that is not an object");
    v = &(*v)[part];
  }
  *v = std::move(value);
}

}  // namespace

Override parse_set(const std::string& assignment) {
  const std::size_t eq = assignment.find('=');
  GT_CHECK(eq != std::string::npos && eq > 0, "--set ", assignment, ": expected key=value (e.g. optimizer.lr=1e-5)");
  return {assignment.substr(0, eq), assignment.substr(eq + 1), "--set " + assignment};
}

std::vector<Override> parse_flag_overrides(const std::vector<std::string>& args) {
  std::vector<Override> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    GT_CHECK(a.size() > 2 && a.rfind("--", 0) == 0, "unexpected argument '", a,
             "' (settings go as --name value, e.g. --learning_rate 1e-5, or --set name=value)");
    const std::size_t eq = a.find('=');
    if (eq != std::string::npos) {
      out.push_back({a.substr(2, eq - 2), a.substr(eq + 1), a});
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      out.push_back({a.substr(2), args[i + 1], a + " " + args[i + 1]});
      ++i;
    } else {
      out.push_back({a.substr(2), "true", a});
    }
  }
  return out;
}

void apply_overrides(json& config, const std::vector<Override>& overrides) {
  for (const Override& o : overrides) {
    if (!config.is_object()) fail(o.origin, ": the config is not an object");
    for (const std::string& name : names_of(o.key))
      if (name != o.key) erase_path(config, name);
    set_path(config, o);
  }
}

}  // namespace gt::train
