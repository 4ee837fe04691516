// The command line's messages say what is wrong and what to do (issue 23): a misspelt flag is named with the nearest
// known one, a range error prints its bound, a help text says what an option takes.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/files.h"

using namespace gt::testing;

namespace {

void expect_output(const std::string& args, std::initializer_list<const char*> parts) {
  const CommandResult r = run_gemma_tune(args);
  EXPECT_NE(r.rc, 0) << args;
  for (const char* p : parts) EXPECT_NE(r.output.find(p), std::string::npos) << args << "\n" << p << "\n" << r.output;
  // CLI11's own range message printed DBL_MAX in all its 309 digits.
  EXPECT_EQ(r.output.find("17976931348623157"), std::string::npos) << r.output;
}

}  // namespace

TEST(CliMessages, AMisspeltFlagIsNamedWithTheNearestKnownOne) {
  expect_output("sft --conifg x.json", {"unknown option '--conifg' (did you mean '--config'?)"});
  expect_output("eval --modle x", {"unknown option '--modle' (did you mean '--model'?)"});
}

TEST(CliMessages, RangeErrorsPrintTheBound) {
  expect_output("sft --config " GT_CONFIGS "/sft.json --stop-after -3", {"--stop-after: must be >= 0, got -3"});
  expect_output("research --config " GT_CONFIGS "/research.json --iterations 0", {"--iterations: must be >= 1, got 0"});
  expect_output("data synth --out x --train 0 --heldout 1 --seed 1", {"--train: must be >= 1, got 0"});
  // A choice lists the names it takes (CLI11's enum transformer printed the enum values as raw bytes).
  expect_output("export x --out y --format onnx", {"--format: onnx not in {fp8,gguf,hf}"});
}

TEST(CliMessages, RewardSaysCompletionIsAFile) {
  const CommandResult r = run_gemma_tune("reward --help");
  EXPECT_NE(r.output.find("--completion FILE"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("File holding the completion text"), std::string::npos) << r.output;
}

TEST(CliMessages, AMissingModelOrDataSaysWhatToRunFirst) {
  TempDir dir;
  expect_output("generate --model " + (dir.path / "none").string() + " --prompt hi",
                {"--model", "/none does not exist", "gemma-tune sft --config configs/sft.json", "runs/sft/final"});
  expect_output("eval --model " + (dir.path / "none").string() + " --data d.jsonl --out o",
                {"--model", "does not exist", "gemma-tune sft"});
  const std::string grpo = dir.write("grpo.json", R"({"model": {"dir": "runs/nothing/final"},
    "data": {"train": "runs/data/train.jsonl"}, "out_dir": "o"})").string();
  expect_output("grpo --config " + grpo,
                {"grpo.json: 'model.dir' runs/nothing/final does not exist", "gemma-tune sft"});
  const std::string sft = dir.write("sft.json", R"({"model": {"dir": ")" + dir.path.string() + R"("},
    "tokenizer": "t.json", "data": {"train": "runs/nowhere/train.jsonl"}, "out_dir": "o"})").string();
  expect_output("sft --config " + sft, {"'data.train' runs/nowhere/train.jsonl does not exist",
                                        "gemma-tune data synth --out runs/nowhere"});
}

// `info --model` reports the folder as it is: the parameter count equals the sum of the shapes in the safetensors
// header (read here directly), and a missing folder says what to run first.
TEST(CliMessages, InfoChecksAModelFolder) {
  const std::string dir = std::string(GT_FIXTURES) + "/model/a_causal_ple";
  std::ifstream f(dir + "/model.safetensors", std::ios::binary);
  uint64_t header_len = 0;
  f.read(reinterpret_cast<char*>(&header_len), 8);
  std::string header(header_len, '\0');
  f.read(header.data(), static_cast<std::streamsize>(header_len));
  int64_t params = 0;
  const nlohmann::json tensors = nlohmann::json::parse(header);
  for (auto it = tensors.begin(); it != tensors.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    int64_t n = 1;
    for (int64_t d : it.value().at("shape").get<std::vector<int64_t>>()) n *= d;
    params += n;
  }
  const CommandResult r = run_gemma_tune("info --model " + dir);
  ASSERT_EQ(r.rc, 0) << r.output;
  const std::vector<std::string> parts = {"layers 5, hidden 32, heads 4, vocab 256",
                                          "text parameters " + std::to_string(params), "tokenizer.json: missing",
                                          "generation: greedy; stop ids 1 106 50"};
  for (const std::string& part : parts)
    EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
  TempDir tmp;
  expect_output("info --model " + (tmp.path / "none").string(), {"--model", "does not exist", "gemma-tune sft"});
}
