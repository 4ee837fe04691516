// The SFT loop on a tiny Gemma 4: learning, the loss on exactly the target tokens, bit-exact resume, the export,
// and the stops on bad gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "autograd/ops.h"
#include "data/chat_format.h"
#include "data/plan_sample.h"
#include "sft_fixture.h"
#include "support/expect_error.h"
#include "train/checkpoint.h"
#include "train/gradients.h"
#include "train/sft.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

std::vector<float> all_weights(const Gemma4& m) {
  std::vector<float> out;
  for (const auto& [name, t] : m.state().items()) {
    const std::vector<float> v = t.to_floats();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// The weights a checkpoint holds, in a model built as the run built it.
Gemma4 model_from_checkpoint(const SftConfig& c, const std::string& path) {
  Gemma4 m = Gemma4::random(load_gemma4_config(c.model.config), 0);
  load_model_tensors(m.state(), read_training_state(path), path);
  return m;
}

Tensor ids_of(const TokenizedSample& s) {
  return Tensor::from_ids(std::vector<int64_t>(s.ids.begin(), s.ids.end()), {1, static_cast<int64_t>(s.ids.size())});
}

// Everything a step logs that does not depend on the clock.
json deterministic(const json& r) {
  json o = r;
  o.erase("tokens_per_s");
  o.erase("elapsed_s");
  return o;
}

}  // namespace

TEST(Sft, LossGoesDownAndTheHeldOutLossIsLoggedFromStepZero) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 6}, {"eval", {{"every", 12}}}});
  const SftResult r = run_sft(c);
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.step, 36);
  const auto train = read_records(c.log_path(), "train");
  ASSERT_EQ(train.size(), 36u);
  double first = 0, last = 0;
  for (int i = 0; i < 6; ++i) {
    first += train[static_cast<size_t>(i)]["loss"].get<double>() / 6;
    last += train[train.size() - 6 + static_cast<size_t>(i)]["loss"].get<double>() / 6;
  }
  EXPECT_LT(last, 0.5 * first) << "first epoch " << first << ", last epoch " << last;
  for (const auto& t : train) {
    EXPECT_GT(t["grad_norm"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(t["learning_rate"].get<double>(), 1e-2);
    EXPECT_GT(t["tokens_per_s"].get<double>(), 0);
  }
  const auto eval = read_records(c.log_path(), "eval");
  ASSERT_EQ(eval.size(), 4u);  // steps 0, 12, 24, 36
  EXPECT_EQ(eval[0]["step"], 0);
  EXPECT_LT(eval.back()["eval_loss"].get<double>(), eval[0]["eval_loss"].get<double>());
  const auto data = read_records(c.log_path(), "data");
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0]["kept"], 6);
  EXPECT_EQ(data[0]["prompt_cut"], 0);
}

TEST(Sft, EachEpochVisitsEverySampleOnceInASeededOrder) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 3}, {"optimizer", {{"lr", 0.0}}}});
  run_sft(c);
  // With lr 0 a sample's loss identifies it: each epoch must show the same six losses, in a new order.
  const auto train = read_records(c.log_path(), "train");
  ASSERT_EQ(train.size(), 18u);
  std::vector<std::vector<double>> epochs(3);
  for (size_t i = 0; i < train.size(); ++i) epochs[i / 6].push_back(train[i]["loss"].get<double>());
  std::vector<std::vector<double>> sorted = epochs;
  for (auto& e : sorted) std::sort(e.begin(), e.end());
  EXPECT_EQ(sorted[0], sorted[1]);
  EXPECT_EQ(sorted[0], sorted[2]);
  EXPECT_TRUE(epochs[0] != epochs[1] || epochs[1] != epochs[2]);
  EXPECT_DOUBLE_EQ(train[5]["epoch"].get<double>(), 1.0);
}

TEST(Sft, AnAccumulatedStepTakesTheTokenMeanOverItsSamples) {
  SftFixture f;
  // lr 0 keeps the weights, and both runs draw the same permutation: step j of the accumulated run holds steps
  // 2j + 1 and 2j + 2 of the plain one.
  const SftConfig one = f.config({{"epochs", 1}, {"optimizer", {{"lr", 0.0}}}}, "one");
  const SftConfig two = f.config({{"epochs", 1}, {"optimizer", {{"lr", 0.0}}}, {"grad_accumulation", 2}}, "two");
  run_sft(one);
  run_sft(two);
  const auto a = read_records(one.log_path(), "train"), b = read_records(two.log_path(), "train");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t j = 0; j < 3; ++j) {
    const json &x = a[2 * j], &y = a[2 * j + 1];
    const double nx = x["trainable_tokens"].get<double>(), ny = y["trainable_tokens"].get<double>();
    const double want = (x["loss"].get<double>() * nx + y["loss"].get<double>() * ny) / (nx + ny);
    EXPECT_NEAR(b[j]["loss"].get<double>(), want, 1e-6 * want) << "step " << j + 1;
    EXPECT_EQ(b[j]["trainable_tokens"].get<double>(), nx + ny);
    EXPECT_EQ(b[j]["tokens"].get<int64_t>(), x["tokens"].get<int64_t>() + y["tokens"].get<int64_t>());
  }
}

TEST(Sft, APaddedBatchEqualsItsSamplesOneByOne) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const SftDataset d = load_sft_dataset(f.train, tok, 1024, Truncation::PromptLeft);
  ASSERT_GE(d.samples.size(), 3u);
  std::vector<const TokenizedSample*> batch;
  double denominator = 0;
  for (size_t i = 0; i < 3; ++i) {
    batch.push_back(&d.samples[i]);
    denominator += static_cast<double>(d.samples[i].trainable);
  }
  ASSERT_NE(batch[0]->ids.size(), batch[1]->ids.size());  // so the padding is exercised
  Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 5);
  double one_by_one = 0;
  for (const TokenizedSample* s : batch) {
    const Tensor l = sample_loss(m, *s, {}, denominator);
    one_by_one += l.item();
    l.backward();
  }
  const std::vector<float> want = take_gradients(m);
  const Tensor l = batch_loss(m, batch, {}, denominator);
  l.backward();
  const std::vector<float> got = take_gradients(m);
  // Only the GEMMs' blocking over more rows and the summation order differ: float32 rounding.
  EXPECT_NEAR(l.item(), one_by_one, 1e-6 * one_by_one);
  double diff = 0, scale = 0;
  for (size_t k = 0; k < want.size(); ++k) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[k]) - want[k]));
    scale = std::max(scale, std::fabs(static_cast<double>(want[k])));
  }
  EXPECT_LE(diff, 1e-5 * scale);
}

TEST(Sft, ABatchStepTakesTheSamplesAnAccumulatedStepTakes) {
  SftFixture f;
  const SftConfig acc = f.config({{"epochs", 1}, {"grad_accumulation", 2}}, "acc");
  const SftConfig bat = f.config({{"epochs", 1}, {"batch_size", 2}}, "bat");
  run_sft(acc);
  run_sft(bat);
  const auto a = read_records(acc.log_path(), "train"), b = read_records(bat.log_path(), "train");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t j = 0; j < a.size(); ++j) {
    EXPECT_EQ(b[j]["trainable_tokens"], a[j]["trainable_tokens"]);
    EXPECT_NEAR(b[j]["loss"].get<double>(), a[j]["loss"].get<double>(), 1e-5 * a[j]["loss"].get<double>())
        << "step " << j + 1;
  }
}

TEST(Sft, GradientNormAndClippingCoverDenseAndRowSparseGradients) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const TokenizedSample s = load_sft_dataset(f.train, tok, 1024, Truncation::PromptLeft).samples[0];
  Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 5);
  sample_loss(m, s, {}, static_cast<double>(s.trainable)).backward();
  const std::vector<Tensor> params = m.state().trainable();
  double want = 0;
  for (const Tensor& p : params)
    for (float g : p.grad().to_floats()) want += static_cast<double>(g) * g;
  ASSERT_TRUE(sparse_grad(m.state().at("embed_tokens_per_layer.weight")).defined());
  const GradNorm n = grad_norm(params);
  EXPECT_NEAR(n.norm, std::sqrt(want), 1e-9 * std::sqrt(want));
  EXPECT_TRUE(n.non_finite.empty());
  scale_grads(params, 0.25);
  EXPECT_NEAR(grad_norm(params).norm, 0.25 * n.norm, 1e-6 * n.norm);
}

TEST(Sft, TheLossIsTheMeanCrossEntropyOverExactlyTheTargetTokens) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const SftDataset d = load_sft_dataset(f.train, tok, 1024, Truncation::PromptLeft);
  const Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 5);
  for (const TokenizedSample& s : d.samples) {
    SCOPED_TRACE(s.id);
    // The trainable tokens are the §1.2 target text, and nothing else.
    std::vector<int32_t> target;
    for (size_t i = 0; i < s.ids.size(); ++i)
      if (s.mask[i]) target.push_back(s.ids[i]);
    const data::PlanSample p = data::sample_from_json(plan_sample(std::stoi(s.id.substr(s.id.rfind('s') + 1))), "t");
    EXPECT_EQ(tok.decode(target),
              "<|channel>thought\n" + p.target->thinking + "<channel|>" + p.target->plan.dump() + "<turn|>");
    EXPECT_EQ(static_cast<int64_t>(target.size()), s.trainable);

    // By hand from the full logits: position t - 1 predicts token t.
    NoGradGuard no_grad;
    const Tensor logits = m.logits(ids_of(s));
    const int64_t V = logits.size(2);
    const std::vector<float> lv = logits.to_floats();
    double sum = 0;
    for (size_t t = 1; t < s.ids.size(); ++t) {
      if (!s.mask[t]) continue;
      const float* row = lv.data() + (t - 1) * static_cast<size_t>(V);
      double mx = -std::numeric_limits<double>::infinity(), z = 0;
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
      for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] - mx);
      sum += mx + std::log(z) - row[s.ids[t]];
    }
    const double want = sum / static_cast<double>(s.trainable);
    EXPECT_NEAR(sample_loss(m, s, {}, static_cast<double>(s.trainable)).item(), want, 1e-5 * want);
    EXPECT_NEAR(sample_loss(m, s, {}, 1.0).item(), sum, 1e-5 * sum);
  }
}

TEST(Sft, TheLossGradientEqualsTheFullLogitsPath) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const TokenizedSample s = load_sft_dataset(f.train, tok, 1024, Truncation::PromptLeft).samples[0];
  Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 5);
  sample_loss(m, s, {}, static_cast<double>(s.trainable)).backward();
  std::vector<std::vector<float>> ours;
  for (const Tensor& p : m.state().trainable()) ours.push_back(p.grad().to_floats());
  m.state().zero_grad();
  std::vector<int64_t> labels(s.ids.begin(), s.ids.end());
  for (size_t i = 0; i < labels.size(); ++i)
    if (!s.mask[i]) labels[i] = -100;
  causal_lm_loss(m.logits(ids_of(s)), Tensor::from_ids(labels, {1, static_cast<int64_t>(labels.size())})).backward();
  size_t i = 0;
  for (const Tensor& p : m.state().trainable()) {
    const std::vector<float> ref = p.grad().to_floats();
    double diff = 0, scale = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
      diff = std::max(diff, std::fabs(static_cast<double>(ours[i][k]) - ref[k]));
      scale = std::max(scale, std::fabs(static_cast<double>(ref[k])));
    }
    EXPECT_LE(diff, 1e-5 * scale + 1e-9) << p.name();
    ++i;
  }
}

// (b): the same run twice, once straight through and once stopped at a checkpoint and resumed (in a new Trainer,
// as a new process would), must log the same losses and end with the same weights, bit for bit.
struct ResumeCase {
  const char* name;
  json overrides;
  int64_t stop_after;
};

void PrintTo(const ResumeCase& c, std::ostream* os) { *os << c.name; }

class SftResume : public ::testing::TestWithParam<ResumeCase> {};

TEST_P(SftResume, AStoppedAndResumedRunEqualsAnUnbrokenOneBitForBit) {
  SftFixture f;
  const ResumeCase& rc = GetParam();
  const SftConfig a = f.config(rc.overrides, "a");
  const SftConfig b = f.config(rc.overrides, "b");
  const SftResult ra = run_sft(a);
  ASSERT_TRUE(ra.finished);

  SftRunOptions first;
  first.stop_after = rc.stop_after;
  const SftResult rb1 = run_sft(b, first);
  EXPECT_FALSE(rb1.finished);
  EXPECT_EQ(rb1.step, rc.stop_after);
  SftRunOptions again;
  again.resume = true;
  const SftResult rb2 = run_sft(b, again);
  ASSERT_TRUE(rb2.finished);

  const auto ta = read_records(a.log_path(), "train"), tb = read_records(b.log_path(), "train");
  ASSERT_EQ(ta.size(), static_cast<size_t>(ra.total_steps));
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(deterministic(ta[i]), deterministic(tb[i])) << "step " << i + 1;
  const auto ea = read_records(a.log_path(), "eval"), eb = read_records(b.log_path(), "eval");
  ASSERT_EQ(ea.size(), eb.size());
  for (size_t i = 0; i < ea.size(); ++i) EXPECT_EQ(ea[i]["eval_loss"], eb[i]["eval_loss"]);
  EXPECT_EQ(all_weights(model_from_checkpoint(a, ra.last_checkpoint)),
            all_weights(model_from_checkpoint(b, rb2.last_checkpoint)));
  EXPECT_EQ(read_records(b.log_path(), "resume").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Configs, SftResume,
                         ::testing::Values(
                             // The published defaults (Adafactor, constant lr), stopped mid-epoch.
                             ResumeCase{"adafactor", json{{"epochs", 2}, {"eval", {{"every", 4}}}}, 5},
                             // The options at once, stopped at an epoch boundary: AdamW, warmup + cosine, clipping,
                             // accumulation with a short last group (6 samples in groups of 4).
                             ResumeCase{"adamw_cosine_clip_accum",
                                        json{{"epochs", 3},
                                             {"grad_accumulation", 4},
                                             {"grad_clip", 0.5},
                                             {"optimizer", {{"name", "adamw"}, {"lr", 3e-3}, {"weight_decay", 0.1}}},
                                             {"schedule", {{"name", "cosine"}, {"warmup_steps", 2}}}},
                                        2},
                             ResumeCase{"adafactor_beta1_linear_checkpointing",
                                        json{{"epochs", 2},
                                             {"checkpoint_layers", true},
                                             {"optimizer",
                                              {{"beta1", 0.9}, {"scale_parameter", true}, {"weight_decay", 0.01}}},
                                             {"schedule", {{"name", "linear"}}},
                                             {"checkpoint", {{"every", 3}, {"keep_last", 1}}}},
                                        7}),
                         [](const ::testing::TestParamInfo<ResumeCase>& i) { return std::string(i.param.name); });

// bf16 parameters from a checkpoint folder: the optimizer's f32 master copies (or, without them, the stochastic
// rounding of each write-back) resume exactly too.
TEST(Sft, Bf16WeightsResumeBitForBitWithMasterCopiesOrStochasticRounding) {
  SftFixture f;
  const std::string model_dir = (f.dir.path / "bf16_model").string();
  const Gemma4 init = Gemma4::random(load_gemma4_config(f.model_config), 11);
  init.save(model_dir, DType::BF16);
  for (const json& precision : {json{{"master_weights", true}, {"rounding", "nearest"}},
                                json{{"master_weights", false}, {"rounding", "stochastic"}}}) {
    SCOPED_TRACE(precision.dump());
    const std::string tag = precision["rounding"];
    json opt = {{"lr", 1e-4}};
    opt.update(precision);
    const json overrides = {{"model", {{"config", nullptr}, {"init_seed", nullptr}, {"dir", model_dir}}},
                            {"optimizer", opt}};
    const SftConfig a = f.config(overrides, "a_" + tag), b = f.config(overrides, "b_" + tag);
    const SftResult ra = run_sft(a);
    SftRunOptions stop;
    stop.stop_after = 5;
    run_sft(b, stop);
    SftRunOptions resume;
    resume.resume = true;
    const SftResult rb = run_sft(b, resume);
    const auto ta = read_records(a.log_path(), "train"), tb = read_records(b.log_path(), "train");
    ASSERT_EQ(ta.size(), tb.size());
    for (size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(deterministic(ta[i]), deterministic(tb[i])) << "step " << i + 1;
    const TrainingState sa = read_training_state(ra.last_checkpoint), sb = read_training_state(rb.last_checkpoint);
    ASSERT_EQ(sa.model.size(), sb.model.size());
    size_t changed = 0, total = 0;
    const NamedParameters& before = init.state();
    for (size_t i = 0; i < sa.model.size(); ++i) {
      ASSERT_EQ(sa.model[i].second.dtype(), DType::BF16);
      const std::vector<float> x = sa.model[i].second.to_floats();
      EXPECT_EQ(x, sb.model[i].second.to_floats()) << sa.model[i].first;
      const std::vector<float> x0 = before.at(sa.model[i].first).to(DType::BF16).to_floats();
      for (size_t k = 0; k < x.size(); ++k) changed += x[k] != x0[k];
      total += x.size();
    }
    EXPECT_GT(changed, total / 4) << changed << " of " << total;
  }
}

TEST(Sft, ResumeRefusesADifferentConfigAndAFreshRunRefusesAnOccupiedOutDir) {
  SftFixture f;
  SftRunOptions stop;
  stop.stop_after = 2;
  run_sft(f.config(), stop);
  SftRunOptions resume;
  resume.resume = true;
  expect_error(
      [&] {
        run_sft(f.config({{"optimizer", {{"lr", 2e-2}}}, {"seed", 4}}), resume);
      },
      {"step-00000002.h5", "optimizer/lr", "seed"});
  expect_error([&] { run_sft(f.config()); }, {"already holds checkpoints", "--resume"});
  // What only changes logging, saving or memory use may change.
  const SftResult r = run_sft(f.config({{"eval", {{"every", 5}}}, {"checkpoint_layers", true}}), resume);
  EXPECT_TRUE(r.finished);
  expect_error([&] { run_sft(f.config(json::object(), "empty"), resume); }, {"nothing to resume"});
}

TEST(Sft, TheExportedFolderReloadsWithTheTrainedWeightsAndGenerationConfig) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 1}});
  const SftResult r = run_sft(c);
  const fs::path final_dir = fs::path(c.out_dir) / "final";
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"})
    EXPECT_TRUE(fs::exists(final_dir / file)) << file;
  const json gen = read_json_file(final_dir / "generation_config.json");
  EXPECT_EQ(gen["eos_token_id"], json({1, 261, 267}));  // <eos>, <turn|>, <|tool_response>
  EXPECT_EQ(gen["bos_token_id"], 2);
  EXPECT_EQ(gen["pad_token_id"], 0);

  const Gemma4 exported = Gemma4::load(final_dir.string(), LoadOptions{StoragePolicy::Keep, [](const std::string&) {}});
  const Gemma4 trained = model_from_checkpoint(c, r.last_checkpoint);
  NoGradGuard no_grad;
  const Tensor ids = Tensor::from_ids({2, 17, 260, 99, 5, 261}, {1, 6});
  EXPECT_EQ(exported.logits(ids).to_floats(), trained.logits(ids).to_floats());
  EXPECT_NE(all_weights(trained), all_weights(Gemma4::random(load_gemma4_config(f.model_config), 7)));
}

TEST(Sft, ATimeLimitEndsTheRunAfterTheStepThatReachesItAndExportsThere) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 2}});
  SftRunOptions o;
  o.time_limit_s = 1e-9;  // reached by the first step, whatever the machine
  const SftResult r = run_sft(c, o);
  EXPECT_EQ(r.step, 1);
  EXPECT_EQ(r.total_steps, 12);
  EXPECT_TRUE(r.out_of_time);
  EXPECT_FALSE(r.finished);
  ASSERT_TRUE(r.heldout_loss) << "the held-out loss is taken where the run stopped";
  const fs::path final_dir = fs::path(c.out_dir) / "final";
  const Gemma4 exported = Gemma4::load(final_dir.string(), LoadOptions{StoragePolicy::Keep, [](const std::string&) {}});
  const Gemma4 trained = model_from_checkpoint(c, r.last_checkpoint);
  EXPECT_EQ(all_weights(exported), all_weights(trained));
  EXPECT_EQ(read_records(c.log_path(), "eval").back()["step"], 1);
}

TEST(Sft, ANonFiniteWeightStopsTheRunNamingTheStepAndTheLayer) {
  SftFixture f;
  const data::Tokenizer tok = data::Tokenizer::from_file(f.tokenizer);
  const TokenizedSample s = load_sft_dataset(f.train, tok, 1024, Truncation::PromptLeft).samples[0];
  Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 5);
  EXPECT_EQ(probe_non_finite(m, ids_of(s)), "");
  m.state().at("layers.3.mlp.up_proj.weight").data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(probe_non_finite(m, ids_of(s)), "the output of layer 3");

  // Through the trainer: a checkpoint whose weights hold an infinity, resumed.
  SftRunOptions stop;
  stop.stop_after = 1;
  const SftConfig c = f.config();
  const std::string path = run_sft(c, stop).last_checkpoint;
  TrainingState st = read_training_state(path);
  for (auto& [name, t] : st.model)
    if (name == "layers.1.self_attn.o_proj.weight") {
      t = t.clone();
      t.data<float>()[3] = std::numeric_limits<float>::infinity();
    }
  write_training_state(path, st);
  SftRunOptions resume;
  resume.resume = true;
  expect_error([&] { run_sft(c, resume); }, {"step 2", "layer 1"});
}

TEST(Sft, AZeroGradientNormStopsTheRun) {
  SftFixture f;
  // With every weight zero the hidden states are zero, so the head passes no gradient to the table (it multiplies
  // by the hidden states) nor to the hidden states (it multiplies by the table): a finite loss, nothing to train.
  SftRunOptions stop;
  stop.stop_after = 1;
  const SftConfig c = f.config();
  const std::string path = run_sft(c, stop).last_checkpoint;
  TrainingState st = read_training_state(path);
  for (auto& [name, t] : st.model) t = Tensor::zeros(t.shape());
  write_training_state(path, st);
  SftRunOptions resume;
  resume.resume = true;
  expect_error([&] { run_sft(c, resume); }, {"step 2", "gradient norm is 0"});
}
