// Tokenizer speed on the real Gemma 3 tokenizer.json: load time, single-threaded encode MB/s on a mixed corpus (warm:
// the per-thread word cache already holds the corpus' words, as in a long data-loading run; cold: a fresh thread
// with an empty cache per pass), and decode tokens/s.
// Run: build/bench_tokenizer. Environment:
//   GT_TOKENIZER     tokenizer.json to use (default: scripts/fetch_gemma_tokenizer.sh's cache, fetched if missing)
//   GT_BENCH_CORPUS  a JSON list of documents (default: the strings of tests/fixtures/tokenizer/gemma3_golden.json
//                    and this repository's sources). tests/golden/make_tokenizer_fixtures.py --corpus writes one and
//                    times Hugging Face `tokenizers` on it, for a side-by-side on the same machine.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/files.h"
#include "data/tokenizer.h"

using gt::data::Tokenizer;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = fs::path(__FILE__).parent_path().parent_path();

std::string tokenizer_path() {
  if (const char* p = std::getenv("GT_TOKENIZER")) return p;
  // (Appending, not "'" + path: GCC 12 warns falsely about the latter.)
  std::string cmd = (kRepo / "scripts" / "fetch_gemma_tokenizer.sh").string();
  cmd.insert(cmd.begin(), '\'');
  cmd += '\'';
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096] = {};
  size_t n = p ? fread(buf, 1, sizeof buf - 1, p) : 0;
  if (!p || pclose(p) != 0) {
    std::fprintf(stderr, "bench_tokenizer: could not fetch the Gemma tokenizer; set GT_TOKENIZER\n");
    std::exit(1);
  }
  std::string out(buf, n);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<std::string> default_corpus() {
  std::vector<std::string> docs;
  auto golden = nlohmann::json::parse(
      gt::read_text_file(kRepo / "tests" / "fixtures" / "tokenizer" / "gemma3_golden.json"));
  for (const auto& c : golden["cases"]) docs.push_back(c["text"]);
  for (const char* dir : {"autograd", "bench", "cli", "data", "eval", "model", "optim", "rl", "research", "scripts",
                          "tests", "train"}) {
    if (!fs::is_directory(kRepo / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(kRepo / dir)) {
      auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".cpp" || ext == ".h" || ext == ".py" || ext == ".sh" || ext == ".md"))
        docs.push_back(gt::read_text_file(e.path()));
    }
  }
  docs.push_back(gt::read_text_file(kRepo / "README.md"));
  return docs;
}

struct Setup {
  std::string path = tokenizer_path();
  Tokenizer tok = Tokenizer::from_file(path);
  std::vector<std::string> docs;
  size_t bytes = 0;
  std::vector<std::vector<int32_t>> ids;
  size_t tokens = 0;

  Setup() {
    if (const char* c = std::getenv("GT_BENCH_CORPUS"))
      docs = nlohmann::json::parse(gt::read_text_file(c)).get<std::vector<std::string>>();
    else
      docs = default_corpus();
    for (const auto& d : docs) {
      bytes += d.size();
      ids.push_back(tok.encode(d));
      tokens += ids.back().size();
    }
    std::fprintf(stderr, "corpus: %zu documents, %.2f MB, %zu tokens; tokenizer %s\n", docs.size(), bytes / 1e6,
                 tokens, path.c_str());
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

size_t encode_all(const Setup& s) {
  size_t n = 0;
  for (const auto& d : s.docs) n += s.tok.encode(d).size();
  return n;
}

void BM_load(benchmark::State& st) {
  std::string text = gt::read_text_file(setup().path);
  for (auto _ : st) benchmark::DoNotOptimize(Tokenizer::from_json(text, setup().path).vocab_size());
  st.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}
BENCHMARK(BM_load)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_load_file(benchmark::State& st) {
  for (auto _ : st) benchmark::DoNotOptimize(Tokenizer::from_file(setup().path).vocab_size());
}
BENCHMARK(BM_load_file)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_encode_warm(benchmark::State& st) {
  const Setup& s = setup();
  encode_all(s);
  for (auto _ : st) benchmark::DoNotOptimize(encode_all(s));
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * s.bytes));
  st.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(st.iterations() * s.tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_encode_warm)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_encode_cold(benchmark::State& st) {
  const Setup& s = setup();
  for (auto _ : st) {
    size_t n = 0;
    std::thread([&] { n = encode_all(s); }).join();
    benchmark::DoNotOptimize(n);
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * s.bytes));
}
BENCHMARK(BM_encode_cold)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_decode(benchmark::State& st) {
  const Setup& s = setup();
  for (auto _ : st)
    for (const auto& ids : s.ids) benchmark::DoNotOptimize(s.tok.decode(ids).size());
  st.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(st.iterations() * s.tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_decode)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
