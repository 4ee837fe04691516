// The inference path against the full forward and against transformers' greedy generation (with cache), on the
// tiny golden models (tests/fixtures/model, made by tests/golden/make_model_fixtures.py) and the greedy tokens of
// tests/fixtures/generate/generate_golden.json (tests/golden/make_generate_fixtures.py, transformers 5.17).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "model/generate.h"
#include "support/files.h"

using namespace gt;

namespace {

const std::string kModels = std::string(GT_FIXTURES) + "/model/";
const char* kNames[] = {"a_causal_ple", "b_cond_mqa", "c_causal_plain"};

const nlohmann::json& golden() {
  static const nlohmann::json j =
      nlohmann::json::parse(std::ifstream(std::string(GT_FIXTURES) + "/generate/generate_golden.json"));
  return j;
}

Gemma4 load(const std::string& name) {
  LoadOptions o;
  o.storage = StoragePolicy::F32;
  o.log = [](const std::string&) {};
  return Gemma4::load(kModels + name, o);
}

}  // namespace

// Decoding token by token with the cache gives the logits a full forward gives at every position, past the
// sliding window (tolerance 1e-4 absolute: the same float32 arithmetic in a different order).
TEST(Generate, CachedDecodeEqualsFullForward) {
  for (const char* name : kNames) {
    SCOPED_TRACE(name);
    const Gemma4 m = load(name);
    const auto& g = golden()["models"][name];
    std::vector<int64_t> ids = g["prompt"].get<std::vector<int64_t>>();
    const auto more = g["tokens"].get<std::vector<int64_t>>();
    ids.insert(ids.end(), more.begin(), more.end());
    const int64_t T = static_cast<int64_t>(ids.size());
    ASSERT_GT(T, 2 * m.config().sliding_window);
    NoGradGuard ng;
    const std::vector<float> full = m.logits(Tensor::from_ids(ids, {1, T})).to_floats();
    // Prefill a prompt of 3 tokens, then one token at a time.
    KVCache cache;
    ForwardOptions fo;
    fo.cache = &cache;
    const int64_t P = 3;
    std::vector<float> cached = m.logits(Tensor::from_ids({ids.begin(), ids.begin() + P}, {1, P}), fo).to_floats();
    for (int64_t t = P; t < T; ++t) {
      const auto step = m.logits(Tensor::from_ids({ids[static_cast<size_t>(t)]}, {1, 1}), fo).to_floats();
      cached.insert(cached.end(), step.begin(), step.end());
    }
    ASSERT_EQ(cached.size(), full.size());
    double worst = 0;
    for (size_t i = 0; i < full.size(); ++i) worst = std::max(worst, std::abs(double(cached[i]) - full[i]));
    EXPECT_LT(worst, 1e-4);
    std::printf("%s: %lld positions, max |cached - full| logit difference %.3g\n", name, static_cast<long long>(T), worst);
    EXPECT_EQ(cache.length, T);
    // Only layers that own their keys hold a cache; sliding ones keep window - 1 keys.
    int64_t owners = 0;
    for (size_t l = 0; l < m.config().layers.size(); ++l) {
      const auto& lc = m.config().layers[l];
      owners += !lc.kv_shared;
      const auto& e = cache.layers[l];
      EXPECT_EQ(e.k.defined(), !lc.kv_shared) << "layer " << l;
      if (!e.k.defined()) continue;
      EXPECT_EQ(e.k.size(1), lc.type == LayerType::Sliding ? m.config().sliding_window - 1 : T) << "layer " << l;
    }
    EXPECT_EQ(cache.physical(), owners);
  }
}

// Greedy tokens equal transformers' greedy tokens (generate with use_cache=True) for every new token; the
// prompt is longer than the window and generation runs 25 tokens past another window's length.
TEST(Generate, GreedyEqualsTransformers) {
  for (const char* name : kNames) {
    SCOPED_TRACE(name);
    const Gemma4 m = load(name);
    const auto& g = golden()["models"][name];
    ASSERT_TRUE(g["uncached_equal"].get<bool>()) << "the reference itself differs with and without cache";
    const auto want = g["tokens"].get<std::vector<int64_t>>();
    ASSERT_GE(want.size(), 20u);
    GenerateOptions o;
    o.max_new_tokens = static_cast<int64_t>(want.size());
    o.sampling.temperature = 0;
    o.stop_ids = {};
    const auto got = generate(m, g["prompt"].get<std::vector<int64_t>>(), o);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].tokens, want);
    EXPECT_FALSE(got[0].stopped);
  }
}

TEST(Generate, SamplesShareThePrefillAndStop) {
  const Gemma4 m = load("a_causal_ple");
  const auto prompt = golden()["models"]["a_causal_ple"]["prompt"].get<std::vector<int64_t>>();
  const auto greedy = golden()["models"]["a_causal_ple"]["tokens"].get<std::vector<int64_t>>();
  GenerateOptions o;
  o.max_new_tokens = 12;
  o.num_samples = 4;
  o.sampling.temperature = 0;
  o.stop_ids = {};
  for (const auto& g : generate(m, prompt, o)) EXPECT_EQ(g.tokens, std::vector<int64_t>(greedy.begin(), greedy.begin() + 12));
  // A stop id ends the sample on that token (included), here the greedy path's 5th token.
  o.num_samples = 1;
  o.stop_ids = {greedy[4]};
  auto stopped = generate(m, prompt, o);
  const auto first = std::find(greedy.begin(), greedy.end(), greedy[4]) - greedy.begin();
  EXPECT_EQ(stopped[0].tokens, std::vector<int64_t>(greedy.begin(), greedy.begin() + first + 1));
  EXPECT_TRUE(stopped[0].stopped);
  // Sampled: the same seed reproduces every sample; the samples of one call differ from one another.
  o.stop_ids = {};
  o.num_samples = 4;
  o.sampling = {.temperature = 1.0, .top_k = 0, .top_p = 1.0, .seed = 7};
  const auto a = generate(m, prompt, o), b = generate(m, prompt, o);
  for (size_t s = 0; s < a.size(); ++s) EXPECT_EQ(a[s].tokens, b[s].tokens);
  EXPECT_TRUE(a[0].tokens != a[1].tokens || a[1].tokens != a[2].tokens);
}

// The CLI prints the same greedy tokens, ending at the first default stop id (<eos>, <turn|>, <|tool_response>)
// since the fixture has no generation_config.json.
TEST(Generate, CliPrintsIds) {
  const auto& g = golden()["models"]["c_causal_plain"];
  std::string ids;
  for (int64_t t : g["prompt"].get<std::vector<int64_t>>()) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const auto r = gt::testing::run_gemma_tune("generate --model " + kModels + "c_causal_plain --prompt-ids " + ids +
                                             " --temperature 0 --format ids --max-new-tokens 28 --quiet");
  ASSERT_EQ(r.rc, 0) << r.output;
  auto want = g["tokens"].get<std::vector<int64_t>>();
  const auto stop = std::find_if(want.begin(), want.end(), [](int64_t t) { return t == 1 || t == 106 || t == 50; });
  if (stop != want.end()) want.erase(stop + 1, want.end());
  EXPECT_EQ(nlohmann::json::parse(r.output).get<std::vector<int64_t>>(), want);
  EXPECT_NE(gt::testing::run_gemma_tune("generate --model " + kModels + "c_causal_plain --prompt-ids 2,x").rc, 0);
}

// generation_config.json read as transformers' generate reads it: do_sample off or absent is greedy; on, the
// defaults are temperature 1, top_k 50, top_p 1; null reads as unset. Values from hand-written files.
TEST(Generate, SamplingFollowsGenerationConfigAsTransformersDoes) {
  gt::testing::TempDir dir;
  const std::string d = dir.path.string();
  auto with = [&](const std::string& text) {
    dir.write("generation_config.json", text);
    return sampling_from(d);
  };
  EXPECT_EQ(sampling_from(d).temperature, 0.0);  // no file
  EXPECT_EQ(with(R"({"temperature": 0.7, "top_k": 5})").temperature, 0.0);
  EXPECT_EQ(with(R"({"do_sample": false, "temperature": 0.7})").temperature, 0.0);
  SamplingOptions s = with(R"({"do_sample": true})");
  EXPECT_EQ(s.temperature, 1.0);
  EXPECT_EQ(s.top_k, 50);
  EXPECT_EQ(s.top_p, 1.0);
  s = with(R"({"do_sample": true, "temperature": 1.0, "top_k": 64, "top_p": 0.95, "eos_token_id": [1, 106]})");
  EXPECT_EQ(s.temperature, 1.0);
  EXPECT_EQ(s.top_k, 64);
  EXPECT_EQ(s.top_p, 0.95);
  s = with(R"({"do_sample": true, "temperature": 0.6, "top_k": null, "top_p": null})");
  EXPECT_EQ(s.temperature, 0.6);
  EXPECT_EQ(s.top_k, 50);
  EXPECT_EQ(s.top_p, 1.0);
  // serve's rule (vLLM's): the keys present are the defaults, the OpenAI API's otherwise; do_sample false is greedy.
  std::filesystem::remove(dir.path / "generation_config.json");
  s = sampling_from(d, SamplingRule::Vllm);
  EXPECT_EQ(s.temperature, 1.0);
  EXPECT_EQ(s.top_k, 0);
  EXPECT_EQ(s.top_p, 1.0);
  dir.write("generation_config.json", R"({"temperature": 0.7, "top_k": 64, "top_p": 0.95})");
  s = sampling_from(d, SamplingRule::Vllm);
  EXPECT_EQ(s.temperature, 0.7);
  EXPECT_EQ(s.top_k, 64);
  EXPECT_EQ(s.top_p, 0.95);
  dir.write("generation_config.json", R"({"do_sample": false, "temperature": 0.7})");
  EXPECT_EQ(sampling_from(d, SamplingRule::Vllm).temperature, 0.0);
  dir.write("generation_config.json", R"({"temperature": 0})");
  EXPECT_EQ(sampling_from(d, SamplingRule::Vllm).temperature, 0.0);
  for (const char* bad : {R"({"do_sample": "yes"})", R"({"do_sample": true, "top_k": 2.5})",
                          R"({"do_sample": true, "top_k": -1})", R"({"do_sample": true, "top_p": 0})",
                          R"({"do_sample": true, "temperature": 0})", R"({"do_sample": true, "temperature": "1"})",
                          R"([1, 2])"}) {
    try {
      with(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("generation_config.json"), std::string::npos) << e.what();
    }
  }
}

// The CLI follows the folder's generation_config.json unless a flag says otherwise: greedy by the file gives the
// golden greedy tokens with no sampling flag; a sampling file is announced with its settings and a flag overrides
// it.
TEST(Generate, CliTakesItsSamplingDefaultsFromTheModelFolder) {
  gt::testing::TempDir dir;
  const auto model = dir.path / "m";
  std::filesystem::copy(kModels + "c_causal_plain", model);
  const auto& g = golden()["models"]["c_causal_plain"];
  std::string ids;
  for (int64_t t : g["prompt"].get<std::vector<int64_t>>()) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const std::string cmd =
      "generate --model " + model.string() + " --prompt-ids " + ids + " --format ids --max-new-tokens 28";
  std::ofstream(model / "generation_config.json") << R"({"do_sample": false, "eos_token_id": []})";
  auto r = gt::testing::run_gemma_tune(cmd + " --quiet");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output).get<std::vector<int64_t>>(), g["tokens"].get<std::vector<int64_t>>());
  // What it says on stderr, stdout dropped (run_command adds its own 2>&1 after the braces).
  auto says = [&](const std::string& flags) {
    return gt::testing::run_command("{ " + std::string(GT_BINARY) + " " + cmd + flags + " 2>&1 >/dev/null; }");
  };
  std::ofstream(model / "generation_config.json") << R"({"do_sample": true, "top_k": 64, "top_p": 0.95})";
  r = says(" --seed 3");
  EXPECT_NE(r.output.find("sampling: temperature 1, top-k 64, top-p 0.95, seed 3"), std::string::npos) << r.output;
  r = says(" --temperature 0 --quiet");
  EXPECT_EQ(r.output, "");
  r = says(" --temperature 0");
  EXPECT_NE(r.output.find("sampling: greedy"), std::string::npos) << r.output;
}

// Ids at or beyond vocab_limit (the tokenizer's size when the model's vocabulary is padded past it) are never drawn,
// even when sampling is near-uniform over the model's whole vocabulary, where they would turn up (checked below).
TEST(Generate, NeverSamplesIdsAtOrBeyondTheVocabularyLimit) {
  const Gemma4 m = load("c_causal_plain");
  const int64_t V = m.config().vocab_size, limit = V - V / 8;
  GenerateOptions o;
  o.max_new_tokens = 32;
  o.num_samples = 4;
  o.stop_ids = {};
  o.sampling.temperature = 1000;
  o.sampling.seed = 5;
  const auto highest = [&](const std::vector<Generation>& gens) {
    int64_t hi = 0;
    for (const auto& g : gens) hi = std::max(hi, *std::max_element(g.tokens.begin(), g.tokens.end()));
    return hi;
  };
  EXPECT_GE(highest(generate(m, {2, 5, 9}, o)), limit);
  o.vocab_limit = limit;
  EXPECT_LT(highest(generate(m, {2, 5, 9}, o)), limit);
  o.sampling.temperature = 0;  // greedy takes the best of the allowed ids
  for (const auto& g : generate(m, {2, 5, 9}, o))
    for (int64_t t : g.tokens) EXPECT_LT(t, limit);
}
