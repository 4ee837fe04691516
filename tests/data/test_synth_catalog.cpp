#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

#include "data/embedded_data.h"
#include "data/synth_catalog.h"
#include "support/error_message.h"

using namespace gt::data::synth;
using gt::testing::thrown_message;
using nlohmann::json;

namespace {

json embedded_json() { return json::parse(gt::data::embedded_data("synth_catalog.json")); }

// The error parse_catalog gives for the embedded catalog after `edit`.
std::string error_after(const std::function<void(json&)>& edit) {
  json j = embedded_json();
  edit(j);
  return thrown_message<std::logic_error>([&] { parse_catalog(j.dump()); });
}

}  // namespace

TEST(SynthCatalog, EmbeddedCatalogHas172PluginsIn16Domains) {
  EXPECT_EQ(catalog().size(), 172u);
  EXPECT_EQ(domains().size(), 16u);
  const Catalog c = parse_catalog(gt::data::embedded_data("synth_catalog.json"));
  EXPECT_EQ(c.slots.size(), 117u);
  EXPECT_EQ(c.plugins.size(), 172u);
  EXPECT_EQ(c.domains.size(), 16u);
  EXPECT_EQ(c.plugins.front().name, "Weather Forecast");
  EXPECT_EQ(c.domains[1].name, "travel");
  // A slot with values_from shares the values of the slot it names.
  EXPECT_EQ(slot("city_from").values, slot("city").values);
  EXPECT_EQ(slot("city_from").description, "Departure city");
}

TEST(SynthCatalog, BrokenCatalogJsonNamesTheFieldAndPlugin) {
  const std::string flight = "synth catalog: domains[1] (travel).plugins[0] (Flight Search)";
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][0]["method"] = 5; }), flight + ".method is not a string");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][0].erase("clauses"); }),
            flight + ": no field 'clauses'");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][0]["clause"] = json::array(); }),
            flight + ": unexpected field 'clause'");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][0]["params"][3]["required"] = "no"; }),
            flight + ".params[3].required is not a boolean");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][0]["takes"] = {"flightt"}; }),
            "synth catalog: Flight Search: follow-ups go with something to take");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][1]["takes"] = {"flightt"}; }),
            "synth catalog: Flight Booking takes 'flightt', which no plugin makes");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][0]["params"][0]["slot"] = "citty"; }),
            "synth catalog: Flight Search: no slot named citty");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["plugins"][1]["name"] = "Flight Search"; }),
            "synth catalog: two plugins named Flight Search");
  EXPECT_EQ(error_after([](json& j) { j["domains"][1]["name"] = "weather"; }),
            "synth catalog: two domains named weather");
  EXPECT_EQ(error_after([](json& j) { j["slots"][0]["type"] = "text"; }),
            "synth catalog: slots[0] (city).type is \"text\", not string, integer, number or boolean");
  EXPECT_EQ(error_after([](json& j) { j["slots"][1]["values_from"] = "town"; }),
            "synth catalog: slots[1] (city_from).values_from: no earlier slot named 'town'");
  EXPECT_EQ(error_after([](json& j) { j["slots"][0]["values"][2] = 3; }),
            "synth catalog: slot 'city' value 3 is not a string");
  EXPECT_EQ(error_after([](json& j) { j.erase("domains"); }), "synth catalog: the top level: no field 'domains'");
  EXPECT_NE(thrown_message<std::logic_error>([] { parse_catalog("{\"slots\": ["); })
                .find("synth catalog: not valid JSON ("),
            std::string::npos);
}
