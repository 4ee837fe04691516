// Chat segments to token ids and the SFT loss mask: per-segment tokenization equals whole-string tokenization on the
// real Gemma vocabulary, exactly one BOS, and samples with an empty loss mask are refused.
#include <gtest/gtest.h>

#include "support/error_message.h"

#include <algorithm>
#include <functional>

#include "base/json_file.h"
#include "data/chat_format.h"
#include "support/chat_golden.h"
#include "support/files.h"
#include "support/gemma_tokenizer.h"

using namespace gt::data;
using gt::read_json_file;
using gt::testing::chat_golden;
using nlohmann::json;

namespace {

std::vector<std::vector<Segment>> golden_renders() {
  std::vector<std::vector<Segment>> out;
  for (const json& c : chat_golden()["conversations"]) {
    RenderOptions o{c.value("enable_thinking", false), c.value("preserve_thinking", false), c["add_generation_prompt"]};
    out.push_back(render_chat(conversation_from_json(c["messages"], c.value("tools", json())), o));
  }
  for (const json& s : chat_golden()["plan_samples"])
    out.push_back(render_plan_sample(sample_from_json(s["sample"], "golden"), true));
  return out;
}

// tests/fixtures/tokenizer/tiny.json with Gemma 4's chat tokens added, so the mask logic runs without the real file.
std::string tiny_gemma4_json() {
  json j = read_json_file(GT_FIXTURES "/tokenizer/tiny.json");
  int32_t id = 100;
  for (const char* s : {"<|turn>", "<turn|>", "<|think|>", "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
                        "<|tool_response>", "<tool_response|>", "<|\"|>"}) {
    j["model"]["vocab"][s] = id;
    j["added_tokens"].push_back({{"id", id++},
                                 {"content", s},
                                 {"single_word", false},
                                 {"lstrip", false},
                                 {"rstrip", false},
                                 {"normalized", false},
                                 {"special", true}});
  }
  return j.dump();
}

const Tokenizer& tiny_gemma4() {
  static const Tokenizer t = Tokenizer::from_json(tiny_gemma4_json(), "tiny + Gemma 4 chat tokens");
  return t;
}


}  // namespace

TEST(ChatEncode, PerSegmentTokenizationEqualsTheWholeStringOnTheRealVocabulary) {
  const auto& real = gt::testing::real_gemma4_tokenizer();
  if (!real.skip_reason.empty()) GTEST_SKIP() << real.skip_reason;
  ASSERT_TRUE(real.fail_reason.empty()) << real.fail_reason;
  const Tokenizer& tok = *real.tokenizer;
  for (const auto& segments : golden_renders()) {
    std::string text = join_segments(segments);
    SCOPED_TRACE(text);
    EncodedChat e = encode_chat(tok, segments, MaskRule::AllowEmpty);
    EXPECT_EQ(e.ids, tok.encode(text));
    ASSERT_EQ(e.mask.size(), e.ids.size());
    EXPECT_EQ(e.ids[0], 2);
    // The masked tokens decode to exactly the trainable text.
    std::string trainable, decoded;
    for (const auto& s : segments)
      if (s.trainable) trainable += s.text;
    std::vector<int32_t> masked;
    for (std::size_t i = 0; i < e.ids.size(); ++i)
      if (e.mask[i]) masked.push_back(e.ids[i]);
    EXPECT_EQ(tok.decode(masked), trainable);
  }
}

TEST(ChatEncode, ThePlanTargetStartsAtTheThoughtChannelOnTheRealVocabulary) {
  const auto& real = gt::testing::real_gemma4_tokenizer();
  if (!real.skip_reason.empty()) GTEST_SKIP() << real.skip_reason;
  ASSERT_TRUE(real.fail_reason.empty()) << real.fail_reason;
  PlanSample s = sample_from_json(chat_golden()["plan_samples"][0]["sample"], "golden");
  EncodedChat e = encode_plan_sample(*real.tokenizer, s, true);
  auto first = std::find(e.mask.begin(), e.mask.end(), 1) - e.mask.begin();
  ASSERT_LT(first, static_cast<std::ptrdiff_t>(e.ids.size()));
  EXPECT_EQ(e.ids[first], 100);      // <|channel>
  EXPECT_EQ(e.ids[first - 1], 107);  // the "\n" of <|turn>model\n
  EXPECT_EQ(e.ids.back(), 106);      // <turn|>, trainable
  EXPECT_EQ(e.mask.back(), 1);
  EXPECT_EQ(std::count(e.mask.begin(), e.mask.end(), 1), static_cast<long>(e.ids.size()) - first);
}

TEST(ChatEncode, MaskFollowsTheSegments) {
  std::vector<Segment> segments = {{"<bos><|turn>user\nhello<turn|>\n<|turn>model\n", false},
                                   {"<|channel>thought\nhello<channel|>world<turn|>", true},
                                   {"\n", false}};
  EncodedChat e = encode_chat(tiny_gemma4(), segments);
  const Tokenizer& tok = tiny_gemma4();
  std::vector<int32_t> prompt = tok.encode(segments[0].text), target = tok.encode(segments[1].text);
  ASSERT_EQ(e.ids.size(), prompt.size() + target.size() + 1);
  for (std::size_t i = 0; i < e.ids.size(); ++i)
    EXPECT_EQ(e.mask[i], i >= prompt.size() && i < prompt.size() + target.size() ? 1 : 0) << i;
  EXPECT_EQ(e.ids[prompt.size()], *tok.token_to_id("<|channel>"));
}

TEST(ChatEncode, ExactlyOneBosAtTheStart) {
  const Tokenizer& tok = tiny_gemma4();
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] {
              encode_chat(tok, {{"<|turn>user\nhello<turn|>\n", false}, {"world", true}});
            }),
            "expected exactly one <bos>, at position 0; found 0");
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] {
              encode_chat(tok, {{"<bos><bos><|turn>user\nhello<turn|>\n", false}, {"world", true}}, {}, "x.jsonl:3");
            }),
            "x.jsonl:3: expected exactly one <bos>, at position 0; found 2 (the first at position 0)");
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] {
              encode_chat(tok, {{"<|turn>user\n<bos>", false}, {"world", true}});
            }),
            "expected exactly one <bos>, at position 0; found 1 (the first at position 5)");
}

TEST(ChatEncode, AnEmptyLossMaskIsReported) {
  const Tokenizer& tok = tiny_gemma4();
  std::vector<Segment> prompt_only = {{"<bos><|turn>user\nhello<turn|>\n<|turn>model\n", false}};
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] { encode_chat(tok, prompt_only, MaskRule::RequireTrainable, "data.jsonl:9"); }),
            "data.jsonl:9: no trainable token: the loss mask is empty");
  EXPECT_NO_THROW(encode_chat(tok, prompt_only, MaskRule::AllowEmpty));

  PlanSample s = sample_from_json(chat_golden()["plan_samples"][0]["sample"], "data.jsonl:2");
  EncodedChat full = encode_plan_sample(tok, s, true);
  EXPECT_GT(std::count(full.mask.begin(), full.mask.end(), 1), 0);
  EncodedChat prompt = encode_plan_sample(tok, s, false);
  EXPECT_EQ(std::count(prompt.mask.begin(), prompt.mask.end(), 1), 0);
  s.messages.back().content = "<bos>hello";
  EXPECT_EQ(gt::testing::thrown_message<gt::Error>([&] { encode_plan_sample(tok, s, true); }),
            "data.jsonl:2: sample 's-1': expected exactly one <bos>, at position 0; found 2 (the first at position 0)");
}

TEST(ChatEncode, ChatRenderListsTokensWithTheirMask) {
  gt::testing::TempDir dir;
  std::string tok = dir.write("tokenizer.json", tiny_gemma4_json()).string();
  json sample = chat_golden()["plan_samples"][0]["sample"];
  std::string path = dir.write("sample.json", sample.dump()).string();
  auto r = gt::testing::run_gemma_tune("chat-render --sample " + path + " --tokenizer " + tok);
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("  pos      id  loss  token\n    0       2     .  \"<bos>\"\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("     103     1  \"<|channel>\"\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" trainable\n"), std::string::npos) << r.output;

  sample["messages"][0]["content"] = "<bos>";
  path = dir.write("doubled.json", sample.dump()).string();
  r = gt::testing::run_gemma_tune("chat-render --sample " + path + " --tokenizer " + tok);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.output.find("error: " + path + ": expected exactly one <bos>, at position 0; found 2"), std::string::npos)
      << r.output;
}
