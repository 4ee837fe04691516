#pragma once
// A complete tiny SFT setup in a scratch folder: a byte-level tokenizer carrying Gemma 4's chat tokens, a tiny
// Gemma 4 config with every feature the E2B graph has (per-layer embeddings with their row-sparse table, KV
// sharing, sliding and full layers, softcap), short plan samples, and the config file tying them together.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json_file.h"
#include "model/gemma4.h"
#include "support/byte_tokenizer.h"
#include "support/files.h"
#include "train/sft_config.h"

namespace gt::testing {

using nlohmann::json;

// tests/fixtures/model/a_causal_ple (5 layers, 2 of them KV-shared, per-layer embeddings, softcap) with a
// vocabulary that holds the byte tokenizer.
inline json tiny_model_config() {
  json j = read_json_file(GT_FIXTURES "/model/a_causal_ple/config.json");
  j["vocab_size"] = 272;
  j["vocab_size_per_layer_input"] = 272;
  j["dtype"] = "float32";
  return j;
}

inline json plan_sample(int i) {
  static const char* cities[] = {"Oslo", "Lima", "Rome", "Kyiv", "Pune", "Nice", "Bonn", "Riga", "Cork", "Baku"};
  const std::string city = cities[i % 10];
  const bool weather = i % 2 == 0;
  const json cand_a = {
      {"pluginId", "p-wx"}, {"name", "Wx"}, {"description", "weather"}, {"identifier", "rest_api"}, {"method", "GET"}};
  const json cand_b = {
      {"pluginId", "p-tr"}, {"name", "Tr"}, {"description", "trains"}, {"identifier", "rest_api"}, {"method", "GET"}};
  const json& pick = weather ? cand_a : cand_b;
  json step = pick;
  step["api_request_parameters"] = {{"city", city}};
  step["all_parameters_hydrated"] = true;
  step["dependencies"] = json::array();
  std::string id = "s";  // built piecewise: GCC 12 warns (-Wrestrict, falsely) on "s" + std::string&&
  id += std::to_string(i);
  return {
      {"id", id},
      {"category", "1_step"},
      {"system", "Plan."},
      {"candidates", {cand_a, cand_b}},
      {"messages", {{{"role", "user"}, {"content", std::string(weather ? "weather in " : "trains to ") + city}}}},
      {"target", {{"thinking", weather ? "Wx gives weather." : "Tr finds trains."}, {"plan", {{"plugins", {step}}}}}}};
}

inline std::string samples_jsonl(int from, int count) {
  std::string s;
  for (int i = from; i < from + count; ++i) s += plan_sample(i).dump() + "\n";
  return s;
}

// Everything in one scratch folder; config() merges `overrides` into a small, fast run's settings.
struct SftFixture {
  TempDir dir;
  std::string tokenizer = dir.write("tokenizer.json", byte_tokenizer_json()).string();
  std::string model_config = dir.write("model_config.json", tiny_model_config().dump(2)).string();
  std::string train = dir.write("train.jsonl", samples_jsonl(0, 6)).string();
  std::string heldout = dir.write("heldout.jsonl", samples_jsonl(6, 2)).string();

  json config_json(const json& overrides = json::object(), const std::string& out = "out") const {
    json j = {{"model", {{"config", model_config}, {"init_seed", 7}}},
              {"tokenizer", tokenizer},
              {"data", {{"train", train}, {"heldout", heldout}, {"max_length", 1024}}},
              {"out_dir", (dir.path / out).string()},
              {"epochs", 2},
              {"seed", 3},
              {"optimizer", {{"name", "adafactor"}, {"lr", 1e-2}}},
              {"progress_every_s", 0}};
    j.merge_patch(overrides);
    return j;
  }
  std::string config_file(const json& overrides = json::object(), const std::string& out = "out",
                          const std::string& name = "sft.json") const {
    return dir.write(name, config_json(overrides, out).dump(2)).string();
  }
  train::SftConfig config(const json& overrides = json::object(), const std::string& out = "out") const {
    return train::parse_sft_config(config_json(overrides, out), "sft.json");
  }
  std::string out(const std::string& name = "out") const { return (dir.path / name).string(); }
};

// Every trainable parameter's gradient, concatenated, and the gradients zeroed for the next comparison.
inline std::vector<float> take_gradients(Gemma4& m) {
  std::vector<float> g;
  for (const Tensor& p : m.state().trainable()) {
    const std::vector<float> v = p.grad().to_floats();
    g.insert(g.end(), v.begin(), v.end());
  }
  m.state().zero_grad();
  return g;
}

// The records of a metrics file with the given "type".
inline std::vector<json> read_records(const std::string& path, const std::string& type) {
  std::vector<json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    json r = json::parse(line);
    if (r.value("type", "") == type) out.push_back(r);
  }
  return out;
}

}  // namespace gt::testing
