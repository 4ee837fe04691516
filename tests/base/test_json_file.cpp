// Hostile JSON (issue 19): nesting deep enough to overflow the stack when copied, numbers beyond a double, and
// syntax errors all end in one gt::Error naming the file, line and column; sizes and counts that would wrap are
// errors too.
#include <gtest/gtest.h>

#include <string>

#include "base/checked.h"
#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "support/error_message.h"
#include "support/expect_error.h"
#include "support/files.h"

using gt::kMaxJsonDepth;
using gt::parse_json;
using gt::testing::expect_error;
using gt::testing::TempDir;
using gt::testing::thrown_message;

namespace {

std::string nested(std::size_t depth, char open, char close, const std::string& inner = "0") {
  return std::string(depth, open) + inner + std::string(depth, close);
}

}  // namespace

// Root cause A: nlohmann parses a value 300k levels deep without recursion, but copying it recursed until the stack
// overflowed. The limit is checked before a value is built.
TEST(ParseJson, RefusesNestingDeeperThanTheLimit) {
  expect_error([] { parse_json(nested(300000, '[', ']'), "deep.json"); },
               {"deep.json:1:513: invalid JSON: nested deeper than 512 levels"});
  std::string objects;
  for (int i = 0; i < 200000; ++i) objects += "{\"a\":";
  expect_error([&] { parse_json(objects, "o.json"); }, {"o.json:1:", "nested deeper than 512 levels"});
  // Brackets inside strings are text, not nesting.
  EXPECT_EQ(parse_json("[\"" + std::string(100000, '[') + "\"]", "s").at(0).get<std::string>().size(), 100000u);
}

TEST(ParseJson, AcceptsNestingUpToTheLimit) {
  nlohmann::json v = parse_json(nested(kMaxJsonDepth, '[', ']'), "ok.json");
  nlohmann::json copy = v;  // a value within the limit is safe to copy
  EXPECT_EQ(copy, v);
}

TEST(ParseJson, RefusesNumbersBeyondADouble) {
  EXPECT_EQ(thrown_message<gt::Error>([] { parse_json("{\n  \"lr\": 1e999\n}", "c.json"); }),
            "c.json:2:9: invalid JSON: number 1e999 is out of range");
  expect_error([] { parse_json("[-" + std::string(400, '9') + "]", "d.json"); }, {"d.json:1:2:", "out of range"});
  EXPECT_EQ(parse_json("[1e-999, 1e308, 123]", "u.json"), nlohmann::json::parse("[0.0, 1e308, 123]"));
}

TEST(ParseJson, SyntaxErrorsNameTheFileLineAndColumn) {
  const std::string msg = thrown_message<gt::Error>([] { parse_json("{\"a\": 1,\n \"b\": }", "bad.json"); });
  EXPECT_EQ(msg.rfind("bad.json:2:7: invalid JSON: ", 0), 0u) << msg;
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
  expect_error([] { parse_json("[1,", "line.jsonl", 7); }, {"line.jsonl:7:"});
}

TEST(ParseJson, TryParseSaysWhyWithoutThrowing) {
  nlohmann::json v;
  auto e = gt::try_parse_json(nested(1000, '{', '}', ""), v);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->where(), "1:513");
  EXPECT_EQ(e->reason, "nested deeper than 512 levels");
  EXPECT_FALSE(gt::try_parse_json("{\"a\": [1, 2]}", v));
  EXPECT_EQ(v["a"][1], 2);
}

TEST(ReadJsonFile, JsonLinesNameTheLine) {
  TempDir dir;
  const auto path = dir.write("s.jsonl", "{}\n\n" + nested(100000, '[', ']') + "\n");
  expect_error([&] { gt::for_each_jsonl(path, [](const nlohmann::json&, std::size_t) {}); },
               {"s.jsonl:3:513: invalid JSON: nested deeper than 512 levels"});
}

TEST(ReadJsonFile, AFolderIsAClearError) {
  TempDir dir;
  expect_error([&] { gt::read_json_file(dir.path); }, {dir.path.string().c_str(), "is a folder, expected a file"});
  expect_error([&] { gt::read_text_file(dir.path); }, {"is a folder"});
}

// Root causes D and E: products of counts and sizes from files are checked, never wrapped.
TEST(Checked, ProductsThatWrapAreErrors) {
  EXPECT_EQ(gt::checked_mul(1 << 20, 1 << 20, "x"), int64_t{1} << 40);
  expect_error([] { gt::checked_mul(INT64_MAX, 2, "batch_size x grad_accumulation"); },
               {"batch_size x grad_accumulation: 9223372036854775807 x 2 overflows"});
  expect_error([] { gt::checked_add(INT64_MAX, 1, "end"); }, {"end: ", "overflows"});
}

TEST(Checked, ParseInt64TakesOnlyWholeDecimalsThatFit) {
  EXPECT_EQ(gt::parse_int64("42"), 42);
  EXPECT_EQ(gt::parse_int64("99999999999999999999"), std::nullopt);
  EXPECT_EQ(gt::parse_int64("4x"), std::nullopt);
  EXPECT_EQ(gt::parse_int64(""), std::nullopt);
}
