#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "base/error.h"
#include "base/json_file.h"

namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / ("gt_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const gt::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// nlohmann reports a number too large for a double as out_of_range, not parse_error; it must still come out as
// gt::Error naming the file (found by fuzz_safetensors_index: the exception escaped every reader).
TEST(JsonFile, NumberOverflowIsAnErrorNamingTheFile) {
  const auto p = write_temp("overflow.json", R"({"weight_map": {"c": 2e308}})");
  EXPECT_NE(error_of([&] { (void)gt::read_json_file(p); }).find(p.string() + ": invalid JSON"), std::string::npos);
  const auto l = write_temp("overflow.jsonl", "{\"a\": 1}\n{\"a\": -1e400}\n");
  EXPECT_NE(error_of([&] { gt::for_each_jsonl(l, [](const nlohmann::json&, std::size_t) {}); })
                .find(l.string() + ":2: invalid JSON"),
            std::string::npos);
  std::filesystem::remove(p);
  std::filesystem::remove(l);
}
