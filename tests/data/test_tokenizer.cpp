// The tokenizer on a tiny hand-made tokenizer.json (tests/fixtures/tokenizer/tiny.json), shaped like Gemma's:
// Replace " "->"▁" normalizer, Split pre-tokenizer, <bos> template, Replace/ByteFallback/Fuse decoder, a BPE with
// byte fallback for a few bytes only and fuse_unk. Its merge ranks are out of id order on purpose ("lo" merges
// first although "ll" has the smaller id), and "b▁" is a merge across a word start.
#include <gtest/gtest.h>

#include "support/files.h"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/files.h"
#include "data/tokenizer.h"

using gt::data::EncodeOptions;
using gt::data::Tokenizer;
using Ids = std::vector<int32_t>;

namespace {

const std::string kTiny = std::string(GT_FIXTURES) + "/tokenizer/tiny.json";

const Tokenizer& tiny() {
  static const Tokenizer t = Tokenizer::from_file(kTiny);
  return t;
}

nlohmann::json tiny_json() { return nlohmann::json::parse(gt::read_text_file(kTiny)); }

// Loads a variant of the tiny file; errors must name `origin`.
Tokenizer load(const nlohmann::json& j) { return Tokenizer::from_json(j.dump(), "variant.json"); }

std::string load_error(const std::string& text, const std::string& origin = "variant.json") {
  try {
    Tokenizer::from_json(text, origin);
  } catch (const gt::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Tokenizer, MergesApplyByRankNotById) {
  EXPECT_EQ(tiny().encode("hello"), (Ids{23}));
  EXPECT_EQ(tiny().encode(" hello"), (Ids{24}));
  // Equal ranks go left to right.
  EXPECT_EQ(tiny().encode("lll"), (Ids{19, 15}));
  EXPECT_EQ(tiny().encode("hello world"), (Ids{23, 38}));
  EXPECT_EQ(tiny().encode(""), Ids{});
}

TEST(Tokenizer, PostProcessorAddsBos) {
  EXPECT_EQ(tiny().encode("hello world", true), (Ids{2, 23, 38}));
  EXPECT_EQ(tiny().encode("", true), (Ids{2}));
  EXPECT_EQ(Ids(tiny().special_prefix().begin(), tiny().special_prefix().end()), (Ids{2}));
  EXPECT_TRUE(tiny().special_suffix().empty());
}

TEST(Tokenizer, MergeAcrossWordStartIsKept) {
  // "b c" normalizes to "b▁c"; cutting the word before "▁" would lose the "b▁" merge.
  EXPECT_EQ(tiny().encode("b c"), (Ids{41, 11}));
  EXPECT_EQ(tiny().encode("a c"), (Ids{9, 8, 11}));
  // A run of "▁" stays with the word after it.
  EXPECT_EQ(tiny().encode("a  hello"), (Ids{9, 8, 24}));
}

TEST(Tokenizer, ByteFallbackAndUnknowns) {
  EXPECT_EQ(tiny().encode("é"), (Ids{25, 26}));
  EXPECT_EQ(tiny().encode("\xF0\x9F\x98\x80"), (Ids{27, 28, 29, 30}));
  // "ü" is C3 BC and <0xBC> is missing: <unk>, and a run of unknowns fuses into one.
  EXPECT_EQ(tiny().encode("ü"), (Ids{3}));
  EXPECT_EQ(tiny().encode("üüü"), (Ids{3}));
  EXPECT_EQ(tiny().encode("üaü"), (Ids{3, 9, 3}));
  // As in `tokenizers`, byte-fallback tokens do not end a pending <unk> run: they come out first.
  EXPECT_EQ(tiny().encode("üéü"), (Ids{25, 26, 3}));
  // Invalid UTF-8: the stray byte is its own character, here without a byte token.
  EXPECT_EQ(tiny().encode(std::string("a\xC3", 2)), (Ids{9, 25}));
  EXPECT_EQ(tiny().encode(std::string("a\xFF", 2)), (Ids{9, 3}));
}

TEST(Tokenizer, NoUnknownTokenIsAnErrorAtEncode) {
  auto j = tiny_json();
  j["model"]["unk_token"] = nullptr;
  j["model"]["byte_fallback"] = false;
  Tokenizer t = load(j);
  EXPECT_EQ(t.encode("hello"), (Ids{23}));
  try {
    t.encode("hü");
    ADD_FAILURE() << "no error";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("character U+00FC is not in the vocabulary"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, AddedTokensMatchLongestFirst) {
  EXPECT_EQ(tiny().encode("<tag>a"), (Ids{5, 9}));
  EXPECT_EQ(tiny().encode("<tagx>"), (Ids{6}));
  EXPECT_EQ(tiny().encode("<start_of_turn>hello\n"), (Ids{4, 23, 7}));
  EXPECT_EQ(tiny().encode("hello<start_of_turn><tag>"), (Ids{23, 4, 5}));
  // A partial tag is plain text ('<' and 't' are not in the vocabulary: one fused <unk>).
  EXPECT_EQ(tiny().encode("<ta"), (Ids{3, 9}));
}

TEST(Tokenizer, SpecialTokensCanBeTreatedAsText) {
  EncodeOptions plain{.match_special_tokens = false};
  EXPECT_EQ(tiny().encode("<bos>", plain), (Ids{3, 10, 16, 3}));
  EXPECT_EQ(tiny().encode("<bos>"), (Ids{2}));
  // Non-special added tokens still match.
  EXPECT_EQ(tiny().encode("<tag>", plain), (Ids{5}));
}

TEST(Tokenizer, AddedTokenFlags) {
  // single_word: only between non-word characters.
  EXPECT_EQ(tiny().encode(" <sw> "), (Ids{8, 31, 8}));
  EXPECT_EQ(tiny().encode("a<sw>"), (Ids{9, 3, 18, 3}));
  // lstrip / rstrip swallow the whitespace beside the token.
  EXPECT_EQ(tiny().encode("a  <ls>b"), (Ids{9, 32, 10}));
  EXPECT_EQ(tiny().encode("a<rs>  b"), (Ids{9, 33, 10}));
  // normalized=true: matched after the normalizer ("x y" -> "x▁y"); its id lies beyond the model's vocabulary.
  EXPECT_EQ(tiny().encode("x y"), (Ids{40}));
  EXPECT_EQ(tiny().vocab_size(), 42);
  EXPECT_EQ(tiny().token_to_id("x y"), 40);
  EXPECT_EQ(tiny().token_to_id("hello"), 23);
  EXPECT_EQ(tiny().token_to_id("nope"), std::nullopt);
  EXPECT_EQ(tiny().id_to_token(24), "▁hello");
  EXPECT_EQ(tiny().id_to_token(39 + 1), "x y");
  EXPECT_TRUE(tiny().is_special(2));
  EXPECT_FALSE(tiny().is_special(5));
}

TEST(Tokenizer, Decode) {
  EXPECT_EQ(tiny().decode(Ids{2, 23, 38}), "<bos>hello world");
  EXPECT_EQ(tiny().decode(Ids{2, 23, 38}, true), "hello world");
  EXPECT_EQ(tiny().decode(Ids{24, 4, 7}), " hello<start_of_turn>\n");
  EXPECT_EQ(tiny().decode(Ids{24, 4, 7}, true), " hello\n");
  EXPECT_EQ(tiny().decode(Ids{25, 26, 9}), "éa");
  // Invalid byte runs become one U+FFFD per byte.
  EXPECT_EQ(tiny().decode(Ids{25, 9}), "\xEF\xBF\xBD" "a");
  EXPECT_EQ(tiny().decode(Ids{25, 25, 26}), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tiny().decode(Ids{}), "");
  EXPECT_THROW(tiny().decode(Ids{42}), gt::Error);
  EXPECT_THROW(tiny().decode(Ids{39 + 0, -1}), gt::Error);
  for (const char* s : {"hello world", " hello  world\n", "<start_of_turn>é<tag>"})
    EXPECT_EQ(tiny().decode(tiny().encode(s)), s);
}

TEST(Tokenizer, DecoderVariants) {
  auto j = tiny_json();
  j["decoder"] = nullptr;  // `tokenizers` joins with spaces when there is no decoder
  EXPECT_EQ(load(j).decode(Ids{23, 24}), "hello ▁hello");
  j["decoder"] = {{"type", "Sequence"},
                  {"decoders",
                   {{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
                    {{"type", "Fuse"}},
                    {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  EXPECT_EQ(load(j).decode(Ids{24, 24}), "hello hello");
}

TEST(Tokenizer, PreTokenizerBehaviors) {
  // Without the normalizer, with " " itself a token (id 8) and " hello" merging, each behavior cuts differently.
  auto j = tiny_json();
  j["normalizer"] = nullptr;
  auto& v = j["model"]["vocab"];
  v.erase("▁");
  v.erase("▁hello");
  v[" "] = 8;
  v[" hello"] = 24;
  j["model"]["merges"] = {"l o", "h e", "l l", "he l", "hel lo", {" ", "hello"}};
  auto ids = [&](const char* behavior, const char* text) {
    j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", behavior}, {"invert", false}};
    return load(j).encode(text);
  };
  EXPECT_EQ(ids("Removed", "hello hello"), (Ids{23, 23}));
  EXPECT_EQ(ids("Isolated", "hello hello"), (Ids{23, 8, 23}));
  EXPECT_EQ(ids("MergedWithPrevious", "hello hello"), (Ids{23, 8, 23}));
  EXPECT_EQ(ids("MergedWithNext", "hello hello"), (Ids{23, 24}));
  EXPECT_EQ(ids("MergedWithNext", "hello  hello"), (Ids{23, 8, 24}));
  EXPECT_EQ(ids("MergedWithPrevious", "hello  hello"), (Ids{23, 8, 8, 23}));
  EXPECT_EQ(ids("Contiguous", "hello  hello"), (Ids{23, 8, 8, 23}));
  // No pre-tokenizer: the whole text is one word, and " hello" merges.
  j["pre_tokenizer"] = nullptr;
  EXPECT_EQ(load(j).encode("hello hello"), (Ids{23, 24}));
}

TEST(Tokenizer, EncodeIsThreadSafe) {
  const std::string text = "hello world <start_of_turn>é lll b c üéü hello  world\n";
  const Ids want = tiny().encode(text);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) ok[t] += tiny().encode(text) == want;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok[t], 200);
}

TEST(TokenizerErrors, MalformedFilesNameFileAndProblem) {
  EXPECT_NE(load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {", "broken.json").find("broken.json: invalid JSON"),
            std::string::npos);
  EXPECT_NE(load_error("[1, 2]").find("variant.json: the top level is an array"), std::string::npos);
  EXPECT_NE(load_error("{}").find("no \"model\" section"), std::string::npos);

  auto with = [](auto edit) {
    auto j = tiny_json();
    edit(j);
    return load_error(j.dump());
  };
  auto has = [](const std::string& msg, const std::string& part) {
    return msg.find("variant.json: ") == 0 && msg.find(part) != std::string::npos;
  };
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["vocab"]["a"] = "x"; }),
               "model.vocab: the id of \"a\" is a string");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["vocab"]["zz"] = 9; }), "model.vocab: id 9 is given to two tokens");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["merges"].push_back("q r"); }),
               "model.merges[13]: token \"q\" is not in the vocabulary");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["merges"].push_back("a c"); }),
               "model.merges[13]: the merged token \"ac\" is not in the vocabulary");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["merges"].push_back("a b c"); }),
               "is not two tokens separated by one space");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["merges"].push_back(nlohmann::json::array({"a"})); }), "exactly two tokens");
  EXPECT_PRED2(has, with([](auto& j) { j["model"].erase("merges"); }), "model.merges is missing");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["unk_token"] = "<nope>"; }), "model.unk_token");
  EXPECT_PRED2(has, with([](auto& j) { j["added_tokens"][5]["id"] = 9; }), "has id 9 but the model gives it 5");
  EXPECT_PRED2(has, with([](auto& j) { j["added_tokens"][5]["content"] = "<other>"; }),
               "id 5 is \"<other>\" but the model's token with that id is \"<tag>\"");
  EXPECT_PRED2(has, with([](auto& j) { j["post_processor"]["special_tokens"]["<bos>"]["ids"] = {999}; }),
               "id 999 is not in the vocabulary");
  EXPECT_THROW(Tokenizer::from_file("/nonexistent/tokenizer.json"), gt::Error);
}

// Issue 19: a Strip with start -1 wrapped to 2^64-1, an id of 2^32 + 5 wrapped to 5, and root cause B: 30k nested
// Sequences were walked recursively until the stack overflowed. The nesting is bounded while the file is read.
TEST(TokenizerErrors, HostileValuesAreRefused) {
  auto with = [](auto edit) {
    auto j = tiny_json();
    edit(j);
    return load_error(j.dump());
  };
  const std::string strip = with([](auto& j) {
    j["decoder"] = {{"type", "Strip"}, {"content", " "}, {"start", -1}, {"stop", 0}};
  });
  EXPECT_EQ(strip, "variant.json: decoder.start is -1, expected a non-negative integer");
  EXPECT_NE(with([](auto& j) { j["post_processor"]["special_tokens"]["<bos>"]["ids"] = {4294967301u}; })
                .find("id 4294967301 is not in the vocabulary"),
            std::string::npos);
  // Found by fuzz_tokenizer: a special token without "ids" was looked up with a const operator[] (undefined
  // behaviour: a heap-use-after-free under ASan).
  EXPECT_EQ(with([](auto& j) { j["post_processor"]["special_tokens"]["<bos>"].erase("ids"); }),
            "variant.json: post_processor.special_tokens[\"<bos>\"].ids is missing");
  EXPECT_EQ(with([](auto& j) { j["post_processor"]["special_tokens"]["<bos>"] = 7; }),
            "variant.json: post_processor.special_tokens[\"<bos>\"].ids is missing");
  // Ids index dense tables: an id near 2^31 asked for gigabytes before it was refused.
  EXPECT_EQ(with([](auto& j) { j["model"]["vocab"]["<far>"] = 2147483000; }),
            "variant.json: model.vocab: id 2147483000 is too large (ids must be below 16777216)");
  EXPECT_EQ(with([](auto& j) { j["added_tokens"][5]["id"] = 16777216; }),
            "variant.json: added_tokens[5].id is missing or not an id below 16777216");
  for (const char* kind : {"normalizer", "decoder"}) {
    auto j = tiny_json();
    j[kind] = nullptr;
    std::string text = j.dump();
    const std::string slot = "\"" + std::string(kind) + "\":null";
    const std::string list = kind == std::string("decoder") ? "decoders" : "normalizers";
    std::string deep;
    for (int i = 0; i < 30000; ++i) deep += "{\"type\":\"Sequence\",\"" + list + "\":[";
    deep += "{\"type\":\"Fuse\"}";
    for (int i = 0; i < 30000; ++i) deep += "]}";
    text.replace(text.find(slot), slot.size(), "\"" + std::string(kind) + "\":" + deep);
    EXPECT_EQ(load_error(text), "variant.json: nested deeper than 512 levels") << kind;
  }
}

TEST(TokenizerErrors, UnsupportedComponentsAreRefusedByName) {
  auto with = [](auto edit) {
    auto j = tiny_json();
    edit(j);
    return load_error(j.dump());
  };
  auto has = [](const std::string& msg, const std::string& part) { return msg.find(part) != std::string::npos; };
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["type"] = "Unigram"; }),
               "variant.json: model type \"Unigram\" is not supported (only BPE)");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["dropout"] = 0.1; }), "BPE dropout is not supported");
  EXPECT_PRED2(has, with([](auto& j) { j["model"]["end_of_word_suffix"] = "</w>"; }), "end_of_word_suffix");
  EXPECT_PRED2(has, with([](auto& j) { j["normalizer"] = {{"type", "NFKC"}}; }),
               "normalizer: type \"NFKC\" is not supported");
  EXPECT_PRED2(has, with([](auto& j) { j["normalizer"]["pattern"] = {{"Regex", "\\s"}}; }),
               "normalizer: a Regex pattern is not supported");
  EXPECT_PRED2(has, with([](auto& j) { j["pre_tokenizer"] = {{"type", "ByteLevel"}}; }),
               "pre_tokenizer: type \"ByteLevel\" is not supported");
  EXPECT_PRED2(has, with([](auto& j) { j["pre_tokenizer"]["invert"] = true; }), "invert=true is not supported");
  EXPECT_PRED2(has, with([](auto& j) { j["decoder"]["decoders"][1] = {{"type", "Metaspace"}}; }),
               "decoder.decoders[1]: type \"Metaspace\" is not supported");
  EXPECT_PRED2(has, with([](auto& j) { j["post_processor"] = {{"type", "ByteLevel"}}; }),
               "post_processor: type \"ByteLevel\" is not supported");
  EXPECT_PRED2(has, with([](auto& j) { j["truncation"] = {{"max_length", 8}}; }), "truncation is set");
}

TEST(TokenizerCli, TokenizePrintsIds) {
  const auto r = gt::testing::run_gemma_tune(std::string("tokenize --tokenizer ") + kTiny + " --text 'hello world' --bos");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.output, "[2,23,38]\n");
  // Exactly one of --text and --text-file.
  EXPECT_NE(gt::testing::run_gemma_tune(std::string("tokenize --tokenizer ") + kTiny).rc, 0);
}
