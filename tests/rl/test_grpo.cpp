// The GRPO loop on a tiny random Gemma 4 with the byte tokenizer: it learns what its reward asks for, logs every
// quantity of docs/spec.md §6, keeps the best model by the held-out eval, masks truncated completions, trains nothing
// on zero-std batches without stopping, and resumes bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "base/files.h"
#include "grpo_fixture.h"
#include "model/gemma4.h"
#include "rl/grpo.h"
#include "support/expect_error.h"
#include "support/svg_check.h"
#include "train/checkpoint.h"
#include "train/metric_names.h"

using namespace gt;
using namespace gt::rl;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

std::vector<float> checkpoint_weights(const std::string& path) {
  std::vector<float> out;
  for (const auto& [name, t] : train::read_training_state(path).model) {
    const std::vector<float> v = t.to_floats();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// A record without what the clock decides.
json deterministic(const json& r) {
  json o = r;
  for (const char* k :
       {"update_tokens_per_s", "rollout_tokens_per_s", "tokens_per_s", "eval_tokens_per_s", "elapsed_s"})
    o.erase(k);
  return o;
}

double mean_reward(const std::vector<json>& train, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += train[i]["reward"].get<double>();
  return s / static_cast<double>(to - from);
}

}  // namespace

TEST(Grpo, RaisesTheRewardItIsGivenAndLogsEveryQuantity) {
  GrpoFixture f;
  const GrpoConfig c = f.config({{"max_steps", 12},
                                 {"reward", {{"command", kSpecialTokenReward}}},
                                 {"log_completions", 3},
                                 {"optimizer", {{"lr", 5e-2}}}});
  const GrpoResult r = run_grpo(c);
  ASSERT_TRUE(r.finished);
  EXPECT_EQ(r.step, 12);
  const auto train = read_records(c.log_path(), "train");
  ASSERT_EQ(train.size(), 12u);
  // About one special token in 16 at the start (reward ~1 of at most 16); the policy gradient at lr 5e-2 makes them
  // most of what the model writes within a few steps (measured: 0.97 over steps 1-4, 16.0 over steps 9-12).
  const double first = mean_reward(train, 0, 4), last = mean_reward(train, 8, 12);
  EXPECT_LT(first, 3.0);
  EXPECT_GT(last, 12.0) << "first 4 steps " << first << ", last 4 steps " << last;
  for (const json& t : train) {
    for (const char* k :
         {"loss", "learning_rate", "grad_norm", "reward", "reward_std", "reward_batch_std", "frac_reward_zero_std",
          "advantage_std", "advantage_abs_mean", "clip_ratio/low_mean", "clip_ratio/high_mean",
          "clip_ratio/region_mean", "ratio_mean", "completions/mean_length", "completions/clipped_ratio",
          "update_tokens_per_s", "rollout_tokens_per_s", "tokens_per_s", "elapsed_s"})
      EXPECT_TRUE(t.contains(k) && t[k].is_number()) << k << " in " << t.dump();
    EXPECT_TRUE(t["kl"].is_null());                        // beta 0: no reference model
    EXPECT_DOUBLE_EQ(t["ratio_mean"].get<double>(), 1.0);  // each batch is used once
    EXPECT_EQ(t["clip_ratio/region_mean"].get<double>(), 0.0);
    EXPECT_LE(t["completions/max_length"].get<double>(), 16);
    EXPECT_DOUBLE_EQ(t["learning_rate"].get<double>(), 5e-2);
  }
  // Two prompts a step over six prompts: an epoch every three steps.
  EXPECT_DOUBLE_EQ(train[2]["epoch"].get<double>(), 1.0);
  const auto samples = read_records(c.log_path(), "samples");
  ASSERT_EQ(samples.size(), 12u);
  ASSERT_EQ(samples[0]["completions"].size(), 3u);
  for (const json& s : samples[0]["completions"])
    for (const char* k : {"prompt_id", "reward", "advantage", "tokens", "truncated", "completion"})
      EXPECT_TRUE(s.contains(k)) << k;
  // The external command gives a reward and no terms.
  for (const auto& [k, v] : train[0].items()) EXPECT_NE(k.rfind("rewards/", 0), 0u) << k;
}

TEST(Grpo, BuiltInRewardTermsAreLoggedAndTheBestModelIsKeptByTheHeldOutEval) {
  GrpoFixture f;
  const GrpoConfig c = f.config({{"max_steps", 3}, {"eval", {{"every", 2}}}});
  const GrpoResult r = run_grpo(c);
  ASSERT_TRUE(r.finished);
  const auto train = read_records(c.log_path(), "train");
  for (const char* k :
       {"valid_json", "in_candidates", "recall", "no_wrong_picks", "wrong_picks", "exact_count", "hydration"})
    EXPECT_TRUE(train[0].contains(train::reward_term_key(k))) << k;
  const auto evals = read_records(c.log_path(), "eval");
  ASSERT_EQ(evals.size(), 3u);  // steps 0, 2 and 3 (the end)
  EXPECT_EQ(evals[0]["step"], 0);
  EXPECT_EQ(evals[0]["eval_samples"], 2);
  for (const char* k :
       {"eval_mean", "eval_json_valid", "eval_plugin_id_match", "eval_count_match", "eval_no_hallucinate",
        "eval_hydrated", "eval_deps_chain"})
    EXPECT_TRUE(evals[0].contains(k)) << k;
  // Random bytes are never a plan: every Mean is 0, so the step-0 model stays the best (not strictly improved on).
  EXPECT_TRUE(evals[0]["best"].get<bool>());
  EXPECT_FALSE(evals[1]["best"].get<bool>());
  ASSERT_TRUE(r.best_mean.has_value());
  EXPECT_EQ(r.best_step, 0);
  EXPECT_EQ(read_records(c.log_path(), "best").size(), 1u);
  // GRPO's curves: one polyline per reward term, the held-out Mean per eval (docs/metrics.md).
  const fs::path plots = fs::path(c.out_dir) / "plots";
  for (const char* file : {"loss.svg", "learning_rate.svg", "grad_norm.svg", "reward.svg", "clip_ratio.svg"})
    EXPECT_TRUE(fs::exists(plots / file)) << file;
  EXPECT_FALSE(fs::exists(plots / "kl.svg")) << "beta 0: no KL";
  auto polylines = [&](const char* file) { return polyline_sizes(read_text_file((plots / file).string())); };
  EXPECT_EQ(polylines("reward_terms.svg"), std::vector<size_t>(7, 3));  // 3 steps
  EXPECT_EQ(polylines("clip_ratio.svg"), std::vector<size_t>(3, 3));
  EXPECT_EQ(polylines("eval_mean.svg"), std::vector<size_t>{3});
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"}) {
    EXPECT_TRUE(fs::exists(fs::path(r.best_dir) / file)) << file;
    EXPECT_TRUE(fs::exists(fs::path(r.final_dir) / file)) << file;
  }
  // best/ holds the starting weights, final/ the trained ones.
  LoadOptions quiet{StoragePolicy::Keep, [](const std::string&) {}};
  const Gemma4 best = Gemma4::load(r.best_dir, quiet), fin = Gemma4::load(r.final_dir, quiet);
  const Gemma4 start = Gemma4::random(load_gemma4_config(f.model_config), 7);
  NoGradGuard ng;
  const Tensor ids = Tensor::from_ids({2, 17, 260, 99}, {1, 4});
  EXPECT_EQ(best.logits(ids).to_floats(), start.logits(ids).to_floats());
}

TEST(Grpo, ZeroStdBatchesTrainNothingAndDoNotStopTheRun) {
  GrpoFixture f;
  // The built-in reward gives the random model 0 for every completion: every group has zero std, every advantage
  // is 0, the gradient is exactly 0 and the weights must not move.
  const GrpoConfig c = f.config({{"max_steps", 2}, {"data", {{"heldout", nullptr}}}});
  const GrpoResult r = run_grpo(c);
  ASSERT_TRUE(r.finished);
  for (const json& t : read_records(c.log_path(), "train")) {
    EXPECT_EQ(t["frac_reward_zero_std"].get<double>(), 1.0);
    EXPECT_EQ(t["advantage_abs_mean"].get<double>(), 0.0);
    EXPECT_EQ(t["grad_norm"].get<double>(), 0.0);
    EXPECT_EQ(t["loss"].get<double>(), 0.0);
  }
  train::TrainingState st = train::read_training_state(r.last_checkpoint);
  const Gemma4 start = Gemma4::random(load_gemma4_config(f.model_config), 7);
  for (const auto& [name, t] : st.model) EXPECT_EQ(t.to_floats(), start.state().at(name).to_floats()) << name;
  EXPECT_TRUE(r.best_dir.empty());  // no held-out set
}

TEST(Grpo, MaskedTruncatedCompletionsLeaveTheLossButKeepTheirRewardsInTheGroup) {
  GrpoFixture f;
  const GrpoConfig c = f.config({{"max_steps", 3},
                                 {"reward", {{"command", kSpecialTokenReward}}},
                                 {"loss", {{"mask_truncated_completions", true}}},
                                 {"log_completions", 8}});
  run_grpo(c);
  const auto train = read_records(c.log_path(), "train");
  const auto samples = read_records(c.log_path(), "samples");
  ASSERT_EQ(samples.size(), 3u);
  int64_t truncated_seen = 0;
  for (size_t s = 0; s < 3; ++s) {
    const json& cs = samples[s]["completions"];
    ASSERT_EQ(cs.size(), 8u);
    // Logged group by group: first completions of both groups, then second ones...: regroup them.
    std::vector<std::vector<json>> groups(2);
    for (size_t i = 0; i < 8; ++i) groups[i % 2].push_back(cs[i]);
    int64_t counted = 0;
    for (const auto& g : groups) {
      std::vector<double> r;
      for (const json& e : g) r.push_back(e["reward"].get<double>());
      double m = 0, v = 0;
      for (double x : r) m += x / 4;
      for (double x : r) v += (x - m) * (x - m) / 3;
      const double sd = std::sqrt(v);
      for (size_t i = 0; i < 4; ++i) {
        const double want = sd <= 1e-8 ? 0.0 : (r[i] - m) / (sd + 1e-4);
        // The advantage uses every reward of the group, the truncated completions' included.
        EXPECT_NEAR(g[i]["advantage"].get<double>(), want, 1e-12);
        if (g[i]["truncated"].get<bool>())
          ++truncated_seen;
        else
          counted += g[i]["tokens"].get<int64_t>();
      }
    }
    EXPECT_EQ(train[s]["loss_tokens"].get<int64_t>(), counted) << "step " << s + 1;
  }
  EXPECT_GT(truncated_seen, 0);  // random bytes rarely hit a stop token within 16
}

// A stopped and resumed run equals an unbroken one: records and final weights bit for bit.
struct ResumeCase {
  const char* name;
  json overrides;
  int64_t stop_after;
};

void PrintTo(const ResumeCase& c, std::ostream* os) { *os << c.name; }

class GrpoResume : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(GrpoResume, AStoppedAndResumedRunEqualsAnUnbrokenOneBitForBit) {
  GrpoFixture f;
  const ResumeCase& rc = GetParam();
  json overrides = rc.overrides;
  overrides.merge_patch({{"reward", {{"command", kSpecialTokenReward}}}});
  const GrpoConfig a = f.config(overrides, "a"), b = f.config(overrides, "b");
  const GrpoResult ra = run_grpo(a);
  ASSERT_TRUE(ra.finished);
  GrpoRunOptions first;
  first.stop_after = rc.stop_after;
  const GrpoResult rb1 = run_grpo(b, first);
  EXPECT_FALSE(rb1.finished);
  EXPECT_EQ(rb1.step, rc.stop_after);
  GrpoRunOptions again;
  again.resume = true;
  const GrpoResult rb2 = run_grpo(b, again);
  ASSERT_TRUE(rb2.finished);

  for (const char* type : {"train", "samples", "eval"}) {
    const auto ta = read_records(a.log_path(), type), tb = read_records(b.log_path(), type);
    ASSERT_EQ(ta.size(), tb.size()) << type;
    for (size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(deterministic(ta[i]), deterministic(tb[i])) << type << " " << i;
  }
  EXPECT_EQ(checkpoint_weights(ra.last_checkpoint), checkpoint_weights(rb2.last_checkpoint));
  EXPECT_EQ(read_records(b.log_path(), "resume").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, GrpoResume,
    ::testing::Values(
        // The published defaults (dapo, group scaling, one iteration), stopped across an epoch boundary.
        ResumeCase{"dapo", json{{"max_steps", 5}, {"eval", {{"every", 2}}}}, 4},
        // A batch reused twice, stopped between its iterations (the batch and its old log-probs are state), the
        // KL term against the reference model, bnpo over loss batches of 2, masking, batch scaling and a schedule.
        ResumeCase{
            "bnpo_iterations_kl_mask",
            json{{"max_steps", 6},
                 {"num_iterations", 2},
                 {"batch_size", 2},
                 {"loss",
                  {{"type", "bnpo"}, {"beta", 0.1}, {"mask_truncated_completions", true}, {"scale_rewards", "batch"}}},
                 {"schedule", {{"name", "cosine"}, {"warmup_steps", 1}}},
                 {"checkpoint", {{"every", 2}, {"keep_last", 1}}}},
            3},
        // LoRA with dropout, its KL measured against the model with the adapter off, stopped between iterations.
        ResumeCase{"lora_iterations_kl",
                   json{{"max_steps", 4},
                        {"num_iterations", 2},
                        {"loss", {{"beta", 0.1}}},
                        {"optimizer", {{"lr", 1e-2}}},
                        {"lora", {{"r", 2}, {"lora_dropout", 0.1}}}},
                   3}),
    [](const ::testing::TestParamInfo<ResumeCase>& i) { return std::string(i.param.name); });

TEST(Grpo, ReusedBatchesClipAndMeasureTheKlAgainstTheReference) {
  GrpoFixture f;
  const GrpoConfig c = f.config({{"max_steps", 4},
                                 {"num_iterations", 2},
                                 {"reward", {{"command", kSpecialTokenReward}}},
                                 {"loss", {{"beta", 0.1}, {"epsilon_low", 0.01}, {"epsilon_high", 0.01}}},
                                 {"data", {{"heldout", nullptr}}}});
  run_grpo(c);
  const auto train = read_records(c.log_path(), "train");
  ASSERT_EQ(train.size(), 4u);
  // Step 1 is the first use of its batch by the unchanged policy: ratio 1, policy = reference, KL 0.
  EXPECT_DOUBLE_EQ(train[0]["ratio_mean"].get<double>(), 1.0);
  EXPECT_EQ(train[0]["kl"].get<double>(), 0.0);
  EXPECT_EQ(train[0]["iteration"], 0);
  // Step 2 reuses it after an update at lr 1e-2: the ratios move past the narrow clip range and the KL grows.
  EXPECT_EQ(train[1]["iteration"], 1);
  EXPECT_NE(train[1]["ratio_mean"].get<double>(), 1.0);
  EXPECT_GT(train[1]["clip_ratio/region_mean"].get<double>(), 0.0);
  EXPECT_GT(train[1]["kl"].get<double>(), 0.0);
  EXPECT_EQ(train[1]["reward"], train[0]["reward"]);            // the same batch
  EXPECT_EQ(read_records(c.log_path(), "samples").size(), 2u);  // one per new batch
}

// GSPO (importance_sampling_level "sequence"): on the first use of a batch its step is bit for bit the token
// level's (every ratio is 1); on the reuse the ratios are per completion, so they differ from the token level's.
TEST(Grpo, SequenceLevelRatiosMatchTheTokenLevelOnFreshBatchesOnly) {
  GrpoFixture f;
  std::vector<json> runs;
  for (const char* level : {"token", "sequence"}) {
    const GrpoConfig c = f.config({{"max_steps", 2},
                                   {"num_iterations", 2},
                                   {"reward", {{"command", kSpecialTokenReward}}},
                                   {"loss", {{"importance_sampling_level", level}}},
                                   {"data", {{"heldout", nullptr}}}},
                                  level);
    run_grpo(c);
    const auto train = read_records(c.log_path(), "train");
    ASSERT_EQ(train.size(), 2u);
    runs.push_back(json(train));
  }
  for (const char* key : {"loss", "grad_norm", "ratio_mean"}) EXPECT_EQ(runs[0][0][key], runs[1][0][key]) << key;
  EXPECT_NE(runs[0][1]["ratio_mean"], runs[1][1]["ratio_mean"]);
}

// DAPO's dynamic sampling. A constant reward makes every group's rewards equal: each prompt slot draws
// 1 + max_resamples groups and keeps the last, so 2 slots x 2 replacements are logged. A reward that is the parity
// of the completion's length varies within most groups: with enough tries no batch keeps an all-equal group.
TEST(Grpo, DynamicSamplingReplacesGroupsWithoutAdvantage) {
  GrpoFixture f;
  const json base = {{"max_steps", 2}, {"data", {{"heldout", nullptr}}}};
  json constant = base;
  constant.merge_patch({{"reward", {{"command", "cat >/dev/null; echo 1"}}},
                        {"generation", {{"dynamic_sampling", true}, {"max_resamples", 2}}}});
  const GrpoConfig c = f.config(constant, "constant");
  run_grpo(c);
  for (const json& r : read_records(c.log_path(), "train")) {
    EXPECT_EQ(r["resampled_groups"], 4);
    EXPECT_EQ(r["frac_reward_zero_std"], 1.0);
  }
  json parity = base;
  parity.merge_patch({{"reward", {{"command", R"(sed 's/.*"completion"://' | awk '{print length($0) % 2}')"}}},
                      {"generation", {{"dynamic_sampling", true}, {"max_resamples", 16}}}});
  const GrpoConfig p = f.config(parity, "parity");
  run_grpo(p);
  for (const json& r : read_records(p.log_path(), "train")) {
    EXPECT_EQ(r["frac_reward_zero_std"], 0.0);
    EXPECT_GE(r["resampled_groups"].get<int64_t>(), 0);
  }
}

// With LoRA the reference is the frozen model with the adapter off (no second copy): the KL starts at 0 (B is zero)
// and grows as the adapter trains; only the adapter is checkpointed and exported (final/ and best/).
TEST(Grpo, LoraMeasuresTheKlAgainstTheModelWithTheAdapterOff) {
  GrpoFixture f;
  const GrpoConfig c = f.config({{"max_steps", 4},
                                 {"num_iterations", 2},
                                 {"reward", {{"command", kSpecialTokenReward}}},
                                 {"optimizer", {{"lr", 1e-2}}},
                                 {"loss", {{"beta", 0.1}}},
                                 {"lora", {{"r", 2}}}});
  const GrpoResult r = run_grpo(c);
  const auto train = read_records(c.log_path(), "train");
  ASSERT_EQ(train.size(), 4u);
  EXPECT_EQ(train[0]["kl"].get<double>(), 0.0);
  EXPECT_GT(train[1]["kl"].get<double>(), 0.0);
  for (const auto& [name, t] : train::read_training_state(r.last_checkpoint).model)
    EXPECT_NE(name.find(".lora_"), std::string::npos) << name;
  for (const std::string dir : {r.final_dir, r.best_dir}) {
    EXPECT_TRUE(fs::exists(dir + "/adapter_model.safetensors")) << dir;
    EXPECT_FALSE(fs::exists(dir + "/model.safetensors")) << dir;
  }
}

TEST(Grpo, ResumeRefusesOtherSettingsAndAFreshRunAnOccupiedOutDir) {
  GrpoFixture f;
  GrpoRunOptions stop;
  stop.stop_after = 1;
  const json base = {{"data", {{"heldout", nullptr}}}};
  run_grpo(f.config(base), stop);
  GrpoRunOptions resume;
  resume.resume = true;
  json other = base;
  other.merge_patch({{"loss", {{"beta", 0.2}}}, {"generation", {{"temperature", 0.7}}}});
  expect_error([&] { run_grpo(f.config(other), resume); }, {"step-00000001.h5", "loss/beta", "generation/temperature"});
  expect_error([&] { run_grpo(f.config(base)); }, {"already holds checkpoints", "--resume"});
  json logging = base;
  logging.merge_patch({{"eval", {{"every", 5}}}, {"log_completions", 0}, {"checkpoint_layers", true}});
  EXPECT_TRUE(run_grpo(f.config(logging), resume).finished);
  expect_error([&] { run_grpo(f.config(base, "empty"), resume); }, {"nothing to resume"});
}

TEST(Grpo, PromptsWithoutGoldPlansNeedAnExternalReward) {
  GrpoFixture f;
  json sample = plan_sample(0);
  sample.erase("target");
  const std::string prompts = f.sft.dir.write("prompts.jsonl", sample.dump() + "\n").string();
  const json overrides = {{"data", {{"train", prompts}, {"heldout", nullptr}}}, {"max_steps", 1}};
  expect_error([&] { run_grpo(f.config(overrides)); }, {"prompts.jsonl:1"});
  json external = overrides;
  external.merge_patch({{"reward", {{"command", kSpecialTokenReward}}}});
  EXPECT_TRUE(run_grpo(f.config(external, "ext")).finished);
}

// A model vocabulary wider than the tokenizer's (Gemma's embedding is padded; here 32 ids past the byte tokenizer's
// 271): rollouts and the held-out eval sample near-uniformly (temperature 50), so without the limit some of the
// 2 x 4 rollouts and 2 held-out completions of up to 16 tokens would hold an id the tokenizer cannot decode (each
// draw has a 32/303 chance) and the run would stop with a decode error.
TEST(Grpo, IdsBeyondTheTokenizersVocabularyAreNeverSampled) {
  GrpoFixture f;
  json model = tiny_model_config();
  model["vocab_size"] = kByteTokenizerVocab + 32;
  model["vocab_size_per_layer_input"] = kByteTokenizerVocab + 32;
  const std::string model_config = f.sft.dir.write("wide_model_config.json", model.dump(2)).string();
  const GrpoConfig c = f.config({{"model", {{"config", model_config}}},
                                 {"max_steps", 1},
                                 {"generation", {{"temperature", 50.0}}},
                                 {"eval", {{"temperature", 50.0}, {"max_new_tokens", 16}}},
                                 {"log_completions", 16}});
  const GrpoResult r = run_grpo(c);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(read_records(c.log_path(), "samples").size(), 1u);
}
