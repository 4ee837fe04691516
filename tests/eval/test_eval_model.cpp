// `eval --model`: completions generated on the inference path and scored. A random tiny model writes nonsense, so
// the check is of the plumbing: every sample gets a generated completion, the report is written, and scoring the
// same completions again through `eval --completions` gives the same report.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "data/plan_sample.h"
#include "data/tokenizer.h"
#include "eval/model_source.h"
#include "model/config.h"
#include "model/gemma4.h"
#include "support/byte_tokenizer.h"
#include "support/files.h"

using json = nlohmann::json;
namespace fs = std::filesystem;

TEST(EvalModel, GeneratesScoresAndAgreesWithCompletions) {
  gt::testing::TempDir tmp;
  const fs::path model_dir = tmp.path / "model";
  fs::create_directories(model_dir);
  // The plain golden config with the tokenizer's vocabulary size.
  json cfg = json::parse(gt::read_text_file(fs::path(GT_FIXTURES) / "model" / "c_causal_plain" / "config.json"));
  cfg["vocab_size"] = gt::testing::kByteTokenizerVocab;
  tmp.write("config.json", cfg.dump());
  gt::Gemma4::random(gt::load_gemma4_config((tmp.path / "config.json").string()), 3).save(model_dir.string());
  std::ofstream(model_dir / "tokenizer.json") << gt::testing::byte_tokenizer_json();

  const std::string data = (fs::path(GT_FIXTURES) / "eval" / "data.jsonl").string();
  const fs::path out = tmp.path / "out", again = tmp.path / "again";
  auto r = gt::testing::run_gemma_tune("eval --model " + model_dir.string() + " --data " + data + " --out " +
                                       out.string() + " --max-new-tokens 6");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("samples/s"), std::string::npos) << "progress line with a rate";
  std::vector<json> lines;
  std::ifstream in(out / "completions.jsonl");
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 8u);  // one per sample in the fixture
  std::string comps;
  for (const auto& l : lines) comps += json{{"id", l["id"]}, {"completion", l["completion"]}}.dump() + "\n";
  const fs::path comps_file = tmp.write("comps.jsonl", comps);
  r = gt::testing::run_gemma_tune("eval --completions " + comps_file.string() + " --data " + data + " --out " +
                                  again.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const json a = json::parse(gt::read_text_file(out / "report.json"));
  const json b = json::parse(gt::read_text_file(again / "report.json"));
  EXPECT_EQ(a["overall"], b["overall"]);
  EXPECT_EQ(a["inputs"]["model"], model_dir.string());
}

// A model vocabulary padded 32 ids past the tokenizer's: the completions of a near-uniform sampler (temperature
// 50, 4 samples x 24 tokens, each draw a 32/303 chance of such an id) decode, because those ids are never drawn.
TEST(EvalModel, IdsBeyondTheTokenizersVocabularyAreNeverSampled) {
  auto cfg = nlohmann::ordered_json::parse(
      gt::read_text_file(fs::path(GT_FIXTURES) / "model" / "c_causal_plain" / "config.json"));
  cfg["vocab_size"] = gt::testing::kByteTokenizerVocab + 32;
  const gt::Gemma4 model = gt::Gemma4::random(gt::parse_gemma4_config(cfg, "config.json"), 3);
  const gt::data::Tokenizer tok = gt::data::Tokenizer::from_json(gt::testing::byte_tokenizer_json(), "tokenizer");
  gt::eval::ModelSourceOptions o;
  o.max_new_tokens = 24;
  o.sampling = {.temperature = 50, .seed = 1};
  o.stop_ids = {};
  const auto complete = gt::eval::model_completions(model, tok, o);
  const auto samples = gt::data::read_samples(fs::path(GT_FIXTURES) / "eval" / "data.jsonl");
  for (size_t i = 0; i < 4; ++i) EXPECT_NO_THROW(complete(samples[i])) << samples[i].id;
}
