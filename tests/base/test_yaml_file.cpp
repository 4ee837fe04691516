// YAML configs become the JSON value a JSON config would, with YAML 1.2's scalars; hostile or broken input is an
// error naming the file and the line.
#include <gtest/gtest.h>

#include "base/yaml_file.h"
#include "support/expect_error.h"

using namespace gt;
using gt::testing::expect_error;
using nlohmann::json;

TEST(YamlFile, AConfigReadsAsItsJson) {
  const json j = parse_yaml(R"(# SFT, TRL's names
learning_rate: 1e-5
num_train_epochs: 3.0
epochs: 3
per_device_train_batch_size: +2
big: 18446744073709551615
ratio: .5
whole: 5.
zero_padded: 007
zeros: [0, -0, 000, 00.5, 0.0, -00]
packing: false
checkpoint_layers: True
save_total_limit: ~
empty:
quoted: "3"
single: 'true'
tagged: !!str 12
word: yes
path: runs/data/train.jsonl
optimizer: {name: adamw, lr: 2e-5}
data:
  train: a.jsonl
  domains: [travel, food]
)",
                            "x.yaml");
  const json expected = json::parse(R"({"learning_rate": 1e-5, "num_train_epochs": 3.0, "epochs": 3,
    "per_device_train_batch_size": 2, "big": 18446744073709551615, "ratio": 0.5, "whole": 5.0, "zero_padded": 7,
    "zeros": [0, 0, 0, 0.5, 0.0, 0], "packing": false, "checkpoint_layers": true, "save_total_limit": null,
    "empty": null, "quoted": "3", "single": "true", "tagged": "12", "word": "yes", "path": "runs/data/train.jsonl",
    "optimizer": {"name": "adamw", "lr": 2e-5}, "data": {"train": "a.jsonl", "domains": ["travel", "food"]}})");
  EXPECT_EQ(j, expected);
  EXPECT_TRUE(j["epochs"].is_number_integer());
  EXPECT_TRUE(j["num_train_epochs"].is_number_float());
}

TEST(YamlFile, ErrorsNameTheFileAndTheLine) {
  expect_error([] { parse_yaml("a: 1\nb: [1, 2\n", "x.yaml"); }, {"x.yaml:", "invalid YAML"});
  expect_error([] { parse_yaml("a: 1\nb: 2\na: 3\n", "x.yaml"); }, {"x.yaml:3: duplicate key 'a'"});
  expect_error([] { parse_yaml("a: 1\nb: .inf\n", "x.yaml"); }, {"x.yaml:2: '.inf' has no JSON value"});
  expect_error([] { parse_yaml("a: !!binary aGVsbG8=\n", "x.yaml"); }, {"x.yaml:1: tag", "is not supported"});
  expect_error([] { parse_yaml("? [1, 2]\n: 3\n", "x.yaml"); }, {"x.yaml:1: a key must be a plain string"});
  expect_error([] { parse_yaml("a: 1e999\n", "x.yaml"); }, {"x.yaml:1: the number 1e999"});
  // Found by fuzz_yaml_config: yaml-cpp passes invalid UTF-8 through, and the saved settings then failed to write.
  expect_error([] { parse_yaml("a: 1\nb: \"\xff\"\n", "x.yaml"); }, {"x.yaml:2: invalid YAML: not UTF-8 (byte 9)"});
  expect_error([] { parse_yaml("a: \xc0\xafx\n", "x.yaml"); }, {"x.yaml:1: invalid YAML: not UTF-8"});  // overlong
  expect_error([] { parse_yaml("a: \xed\xa0\x80\n", "x.yaml"); }, {"x.yaml:1: invalid YAML: not UTF-8"});  // surrogate
  // The fuzzer's input (a NUL and a control byte inside a key): yaml-cpp made a string of it that is not UTF-8.
  const std::string found("# an SFT run config with TRL's names" "\x0a" "model: {d" "\x22" "categories" "\x22" "iny, storage: keep}" "\x0a" "tokenizer: models/tiny/tokenizer.json" "\x0a" "ice_train" "\x02" "" "\x00" "_batchs_ize: 3" "\x0a" "gradient_accumula ruhrain_epocn confhs: 3i.g", 186);
  expect_error([&] { parse_yaml(found, "x.yaml"); }, {"x.yaml:", "not UTF-8"});
  EXPECT_EQ(parse_yaml("a: \"\xc3\xa9\xf0\x9f\x99\x82\"\n", "x.yaml")["a"], "\xc3\xa9\xf0\x9f\x99\x82");
}

TEST(YamlFile, DeepNestingAndAliasBombsAreRefusedNotFollowed) {
  // Deeper than the JSON limit, in flow and in block style: refused by yaml-cpp's own guard or ours.
  expect_error([] { parse_yaml(std::string(100000, '['), "deep.yaml"); }, {"deep.yaml:"});
  std::string block;
  for (int i = 0; i < 600; ++i) block += std::string(i, ' ') + "k:\n";
  expect_error([&] { parse_yaml(block, "block.yaml"); }, {"block.yaml:", "nested deeper than"});
  // Nine levels of ten aliases each: 10^9 values from a few hundred bytes.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string p = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p;
    for (int k = 1; k < 10; ++k) bomb += ", " + p;
    bomb += "]\n";
  }
  expect_error([&] { parse_yaml(bomb, "bomb.yaml"); }, {"bomb.yaml:", "more values than the text has bytes"});
}
