#pragma once
// The plugin catalog of `data synth`: plugins in domains, each with typed parameters and the request phrasings that
// ask for it. The catalog is fixed (it does not depend on the seed), so train and held-out sets share plugins and
// pluginIds; only the requests differ.
//
// A phrasing is a verb phrase with `{param}` holes ("check the weather in {city} on {date}"). Every hole is a
// parameter of the plugin and is filled from that parameter's slot; every required parameter has a hole in every
// phrasing, so a gold plan always carries its required keys and every value it carries was written in the request.
// The catalog is data/synth_catalog.json, compiled into the binary; catalog() reads and checks it at its first use.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace gt::data::synth {

enum class ParamType { string, integer, number, boolean };
std::string_view type_name(ParamType t);

// A kind of value a request mentions (a city, a party size). Within one request a slot has one value, so two steps
// that both take a date get the same date, as a person would write it.
struct Slot {
  std::string name;
  ParamType type;
  std::string description;             // the default description of parameters filled from this slot
  std::vector<nlohmann::json> values;  // empty for the dates, which are generated ("June 14")
  std::string cue;                     // booleans only: the words that mean true in a request ("nonstop")
};

struct Param {
  std::string name;
  bool required = true;
  std::string slot;         // empty: the slot named like the parameter
  std::string description;  // empty: the slot's

  const std::string& slot_name() const { return slot.empty() ? name : slot; }
};

struct Plugin {
  std::string id;  // "plugin-" and ten digits, from a hash of the name
  std::string name, description, identifier, method, domain;
  std::vector<Param> params;
  // What a step of this plugin hands to a later step ("restaurant", "booking"); empty when nothing can use it.
  std::string makes;
  // What it can use from the step before it; "*" is anything a step makes.
  std::vector<std::string> takes;
  std::vector<std::string> clauses;     // asking for it on its own
  std::vector<std::string> follow_ups;  // asking for it on the previous step's result ("email it to {to}")

  bool accepts(std::string_view artifact) const;
  const Param& param(std::string_view name) const;
  // The §1.1 candidate "parameters": {"name": {"type", "required"[, "description"]}}.
  nlohmann::json parameters_json(bool with_descriptions) const;
};

struct Domain {
  std::string name;
  std::string identifier;  // the `identifier` of its plugins
  std::string topic;       // "a trip", for a multi-turn opening ("I need some help with a trip.")
};

struct Catalog {
  std::vector<Slot> slots;
  std::vector<Domain> domains;
  std::vector<Plugin> plugins;  // in the order of their domains
};

// Reads a catalog in the form of data/synth_catalog.json and checks every field's type and the rules above;
// std::logic_error names the broken field, slot, plugin or phrasing.
Catalog parse_catalog(std::string_view json_text);

// The catalog compiled into the binary.
const std::vector<Domain>& domains();
const std::vector<Plugin>& catalog();
const Slot& slot(std::string_view name);

// The text a request uses for a value: strings as they are, numbers as JSON writes them, booleans as their cue.
std::string value_text(const Slot& s, const nlohmann::json& value);

}  // namespace gt::data::synth
