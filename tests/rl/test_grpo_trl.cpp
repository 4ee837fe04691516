// GRPO on TRL-format prompts (docs/data.md): message prompts with tools from the synthesized conversations, and an
// extra column that the reward command reads, as TRL hands extra columns to reward functions.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "grpo_fixture.h"
#include "rl/grpo.h"
#include "support/expect_error.h"
#include "support/trl_dataset.h"

using namespace gt;
using namespace gt::rl;
using namespace gt::testing;

namespace {

// The number of times the line's "letter" column occurs in the completion (the JSON line is
// {"completion": ..., "sample": {..., "letter": ..., ...}}; the completion is cut off at the sample first).
const std::string kLetterReward =
    R"sh(read -r line; l=$(printf '%s\n' "$line" | sed 's/.*"letter":"\([^"]*\)".*/\1/'); )sh"
    R"sh(printf '%s\n' "$line" | sed 's/","sample":.*//' | tr -cd "$l" | wc -c)sh";

const char* kLetters[] = {"<", "a", "|"};

// Each conversation cut before the model's first answer, with an id and a letter column.
std::string prompts_jsonl(std::size_t count) {
  std::istringstream lines(conversation_jsonl(count, 5));
  std::string line, out;
  for (std::size_t i = 0; std::getline(lines, line); ++i) {
    json c = json::parse(line);
    json prompt = json::array();
    for (const json& m : c["messages"]) {
      if (m["role"] == "assistant" && m.contains("tool_calls")) break;
      prompt.push_back(m);
    }
    out += json{{"id", "p" + std::to_string(i)}, {"prompt", prompt}, {"tools", c["tools"]}, {"letter", kLetters[i % 3]}}
               .dump() +
           "\n";
  }
  return out;
}

}  // namespace

TEST(GrpoTrl, MessagePromptsTrainWithACommandRewardReadingAnExtraColumn) {
  GrpoFixture f;
  const std::string prompts = f.sft.dir.write("trl_prompts.jsonl", prompts_jsonl(6)).string();
  const GrpoConfig c = f.config({{"data", {{"train", prompts}, {"heldout", nullptr}}},
                                 {"reward", {{"command", kLetterReward}}},
                                 {"log_completions", 8},
                                 {"max_steps", 3}});
  const GrpoResult r = run_grpo(c);
  ASSERT_TRUE(r.finished);
  const auto data = read_records(c.log_path(), "data");
  EXPECT_EQ(data[0]["kept"], 6);
  // Every logged completion got the count of its own prompt's letter.
  int checked = 0;
  for (const json& s : read_records(c.log_path(), "samples"))
    for (const json& e : s["completions"]) {
      const std::string id = e["prompt_id"].get<std::string>();
      const char letter = kLetters[std::stoi(id.substr(1)) % 3][0];
      const std::string text = e["completion"].get<std::string>();
      EXPECT_EQ(e["reward"].get<double>(), static_cast<double>(std::count(text.begin(), text.end(), letter))) << text;
      ++checked;
    }
  EXPECT_EQ(checked, 3 * 8);
}

TEST(GrpoTrl, TrlPromptsNeedARewardCommandAndAPlanSampleHeldOutSet) {
  GrpoFixture f;
  const std::string prompts =
      f.sft.dir.write("p.jsonl", json{{"prompt", "Say hi:"}, {"answer", "hi"}}.dump() + "\n").string();
  expect_error(
      [&] {
        run_grpo(f.config({{"data", {{"train", prompts}, {"heldout", nullptr}}}, {"max_steps", 1}}));
      },
      {"p.jsonl:1", "TRL-format prompt", "reward.command"});
  expect_error(
      [&] {
        run_grpo(f.config({{"data", {{"heldout", prompts}}}, {"reward", {{"command", "echo 1"}}}, {"max_steps", 1}}));
      },
      {"p.jsonl:1", "held-out set to plan samples"});
  const std::string messages = f.sft.dir
                                   .write("m.jsonl", R"({"messages": []})"
                                                     "\n")
                                   .string();
  expect_error(
      [&] {
        run_grpo(f.config({{"data", {{"train", messages}}}, {"reward", {{"command", "echo 1"}}}}));
      },
      {"m.jsonl:1", "keys messages", "prompt"});
}
