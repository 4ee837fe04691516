// SFT on TRL-format data (docs/data.md): a few hundred synthesized conversational lines (tools, thinking, multi-turn)
// train the tiny model; formats mix line by line; the mask settings reach the data; broken lines name file:line.
#include <gtest/gtest.h>

#include <sstream>

#include "data/tokenizer.h"
#include "sft_fixture.h"
#include "support/expect_error.h"
#include "support/trl_dataset.h"
#include "train/config_names.h"
#include "train/sft.h"
#include "train/sft_data.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;

TEST(SftTrl, AConversationalDatasetTrainsAndReportsItsHeldOutLoss) {
  SftFixture f;
  const std::string train = f.dir.write("chat_train.jsonl", conversation_jsonl(300, 11)).string();
  const std::string heldout = f.dir.write("chat_heldout.jsonl", conversation_jsonl(4, 11, true)).string();
  // TRL's names, with the loss on the model's turns only.
  const SftConfig c = f.config({{"data", {{"train", train}, {"heldout", heldout}}},
                                {"assistant_only_loss", true},
                                {"max_steps", 24},
                                {"eval", {{"every", 12}}}});
  const SftResult r = run_sft(c);
  ASSERT_TRUE(r.finished);
  const auto data = read_records(c.log_path(), "data");
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0]["read"], 300);
  EXPECT_EQ(data[0]["kept"], 300);
  EXPECT_LT(data[0]["trainable_tokens"].get<int64_t>(), data[0]["tokens"].get<int64_t>() / 2);
  const auto train_records = read_records(c.log_path(), "train");
  ASSERT_EQ(train_records.size(), 24u);
  double first = 0, last = 0;
  for (size_t i = 0; i < 4; ++i) {
    first += train_records[i]["loss"].get<double>() / 4;
    last += train_records[train_records.size() - 4 + i]["loss"].get<double>() / 4;
  }
  EXPECT_LT(last, 0.7 * first) << "first 4 steps " << first << ", last 4 steps " << last;
  const auto eval = read_records(c.log_path(), "eval");
  ASSERT_EQ(eval.size(), 3u);  // steps 0, 12, 24
  EXPECT_LT(eval.back()["eval_loss"].get<double>(), eval[0]["eval_loss"].get<double>());
  ASSERT_TRUE(r.heldout_loss.has_value());
}

TEST(SftTrl, FormatsMixLineByLineAndPlanSamplesKeepTheirTargetMask) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const std::string plan_only = f.dir.write("plan.jsonl", samples_jsonl(0, 2)).string();
  const std::string mixed =
      f.dir
          .write("mixed.jsonl", samples_jsonl(0, 2) + conversation_jsonl(1, 3) +
                                    R"({"prompt": "2+2=", "completion": "4", "id": "sum"})" + "\n")
          .string();
  data::LineRendering all_tokens;
  all_tokens.masks.completion_only = false;
  const SftDataset a = load_sft_dataset(plan_only, tok, 4096, Truncation::PromptLeft);
  const SftDataset b = load_sft_dataset(mixed, tok, 4096, Truncation::PromptLeft, all_tokens);
  ASSERT_EQ(b.samples.size(), 4u);
  // The mask settings leave plan samples alone (§1.2: exactly the target).
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(b.samples[i].ids, a.samples[i].ids);
    EXPECT_EQ(b.samples[i].mask, a.samples[i].mask);
  }
  EXPECT_EQ(b.samples[2].trainable, static_cast<int64_t>(b.samples[2].ids.size()) - 1);
  EXPECT_EQ(b.samples[2].first_trainable, 1);
  EXPECT_EQ(b.samples[3].id, mixed + ":4: sum");
  EXPECT_EQ(b.samples[3].trainable, 6);  // "2+2=4<eos>": every token after the BOS
  EXPECT_EQ(b.report.read, 4);
}

TEST(SftTrl, ABrokenLineIsOneErrorNamingItsFileAndLine) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const std::string bad = f.dir.write("bad.jsonl", conversation_jsonl(2, 3) + R"({"text": "hello"})" + "\n").string();
  expect_error([&] { load_sft_dataset(bad, tok, 4096, Truncation::PromptLeft); },
               {"bad.jsonl:3", "keys text", "messages", "prompt and completion", "docs/data.md"});
  const std::string no_model_turn = f.dir
                                        .write("user.jsonl", R"({"messages": [{"role": "user", "content": "hi"}]})"
                                                             "\n")
                                        .string();
  data::LineRendering assistant_only;
  assistant_only.masks.assistant_only = true;
  expect_error([&] { load_sft_dataset(no_model_turn, tok, 4096, Truncation::PromptLeft, assistant_only); },
               {"user.jsonl:1", "no trainable token"});
  const std::string wrong = f.dir
                                .write("wrong.jsonl", R"({"messages": [{"role": "user", "content": ["a"]}]})"
                                                      "\n")
                                .string();
  expect_error([&] { load_sft_dataset(wrong, tok, 4096, Truncation::PromptLeft); },
               {"wrong.jsonl:1", "messages[0].content"});
}

TEST(SftTrl, TheMaskSettingsReadUnderTrlNamesAndLandInTheSavedConfig) {
  SftFixture f;
  const SftConfig c = f.config({{"completion_only_loss", nullptr},
                                {"assistant_only_loss", true},
                                {"chat_template_kwargs", {{"enable_thinking", false}}}});
  EXPECT_TRUE(c.rendering.masks.completion_only);
  EXPECT_TRUE(c.rendering.masks.assistant_only);
  EXPECT_EQ(c.rendering.chat_template_kwargs.enable_thinking, std::optional<bool>(false));
  const json saved = to_json(c);
  EXPECT_EQ(saved["data"]["assistant_only_loss"], true);
  EXPECT_EQ(saved["data"]["chat_template_kwargs"]["enable_thinking"], false);
  // The run's printout says where the thinking default differs from TRL's, and nothing for completion_only_loss.
  std::ostringstream os;
  print_settings(os, to_json(f.config()), TrainerKind::Sft);
  EXPECT_NE(os.str().find("  data.chat_template_kwargs = {\"enable_thinking\":null,\"preserve_thinking\":false}   "
                          "[chat_template_kwargs: TRL default null; an unset enable_thinking is on"),
            std::string::npos)
      << os.str();
  EXPECT_NE(os.str().find("  data.completion_only_loss = true\n"), std::string::npos) << os.str();
  expect_error([&] { f.config({{"data", {{"chat_template_kwargs", {{"thinking", true}}}}}}); },
               {"sft.json", "data.chat_template_kwargs", "thinking"});
  expect_error([&] { f.config({{"data", {{"assistant_only_loss", 1}}}}); }, {"assistant_only_loss", "true or false"});
}
