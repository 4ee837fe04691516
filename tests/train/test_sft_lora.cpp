// LoRA SFT on the tiny Gemma 4 (docs/lora.md): only the adapter trains and lowers the loss, the checkpoints hold the
// adapter and resume bit for bit (dropout included), final/ is peft's adapter folder, and the command line applies
// it (--adapter) and merges it (merge) to the same logits.
#include <gtest/gtest.h>

#include <filesystem>

#include "model/safetensors.h"
#include "sft_fixture.h"
#include "support/expect_error.h"
#include "train/checkpoint.h"
#include "train/sft.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

const json kLora = {{"lora", {{"r", 4}, {"lora_alpha", 8}}}};

// The tiny base saved as a checkpoint folder, so a run reads it from model.dir as it would a released model.
std::string base_dir(const SftFixture& f) {
  const std::string dir = (f.dir.path / "base").string();
  if (!fs::exists(dir)) Gemma4::random(load_gemma4_config(f.model_config), 7).save(dir);
  return dir;
}

json with_base(const SftFixture& f, json overrides) {
  overrides["model"] = {{"dir", base_dir(f)}, {"config", nullptr}, {"init_seed", nullptr}};
  return overrides;
}

json without_clock(json r) {
  r.erase("tokens_per_s");
  r.erase("elapsed_s");
  return r;
}

std::vector<std::vector<float>> tensors_of(const TrainingState& st) {
  std::vector<std::vector<float>> out;
  for (const auto& [n, t] : st.model) out.push_back(t.to_floats());
  return out;
}

}  // namespace

TEST(LoraSft, TrainsOnlyTheAdapterLowersTheLossAndExportsPeftsFolder) {
  SftFixture f;
  json o = with_base(f, kLora);
  o["epochs"] = 5;
  o["optimizer"] = {{"name", "adamw"}, {"lr", 1e-2}};
  const SftConfig c = f.config(o);
  const SftResult r = run_sft(c);
  ASSERT_TRUE(r.finished);
  const auto train = read_records(c.log_path(), "train");
  double first = 0, last = 0;
  for (int i = 0; i < 6; ++i) {
    first += train[static_cast<size_t>(i)]["loss"].get<double>() / 6;
    last += train[train.size() - 6 + static_cast<size_t>(i)]["loss"].get<double>() / 6;
  }
  // The frozen random head (std 0.02) bounds how far any adapter can move the logits, so the drop is modest: 5.49
  // to 5.21 here, steady from step to step.
  EXPECT_LT(last, first - 0.15) << "first epoch " << first << ", last epoch " << last;
  const auto eval = read_records(c.log_path(), "eval");
  EXPECT_LT(eval.back()["eval_loss"].get<double>(), eval.front()["eval_loss"].get<double>());

  // The checkpoint holds the adapter and its optimizer state, not the frozen model.
  const TrainingState st = read_training_state(r.last_checkpoint);
  ASSERT_FALSE(st.model.empty());
  for (const auto& [name, t] : st.model) EXPECT_NE(name.find(".lora_"), std::string::npos) << name;
  EXPECT_FALSE(st.optimizer.tensors.empty());

  const fs::path final_dir = fs::path(c.out_dir) / "final";
  EXPECT_TRUE(fs::exists(final_dir / "adapter_config.json"));
  EXPECT_FALSE(fs::exists(final_dir / "model.safetensors"));
  const json cfg = read_json_file(final_dir / "adapter_config.json");
  EXPECT_EQ(cfg["base_model_name_or_path"], base_dir(f));
  EXPECT_EQ(cfg["r"], 4);
  const SafetensorsFile a = SafetensorsFile::open((final_dir / "adapter_model.safetensors").string());
  EXPECT_EQ(a.entries().size(), st.model.size());
  EXPECT_TRUE(a.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"));

  // The trained adapter is what the run ended with, and it changes the base's outputs.
  LoadOptions quiet{StoragePolicy::Keep, [](const std::string&) {}};
  Gemma4 m = Gemma4::load(base_dir(f), quiet);
  const Tensor ids = Tensor::from_ids({2, 17, 260, 99, 5, 261}, {1, 6});
  NoGradGuard ng;
  const std::vector<float> base = m.logits(ids).to_floats();
  m.set_adapter(LoraAdapter::load(final_dir.string(), m));
  EXPECT_NE(m.logits(ids).to_floats(), base);
  for (const auto& [name, t] : st.model) EXPECT_EQ(m.adapter()->state().at(name).to_floats(), t.to_floats()) << name;
}

TEST(LoraSft, AStoppedAndResumedRunEqualsAnUnbrokenOneBitForBit) {
  SftFixture f;
  json o = {{"epochs", 2},
            {"checkpoint_layers", true},
            {"grad_accumulation", 2},
            {"optimizer", {{"name", "adamw"}, {"lr", 3e-3}}},
            {"lora", {{"r", 2}, {"lora_alpha", 4}, {"lora_dropout", 0.1}, {"use_rslora", true},
                      {"target_modules", "model\\.layers\\.[0-3]\\..*_proj"}}}};
  const SftConfig a = f.config(o, "a"), b = f.config(o, "b");
  const SftResult ra = run_sft(a);
  ASSERT_TRUE(ra.finished);
  SftRunOptions first;
  first.stop_after = 2;
  EXPECT_FALSE(run_sft(b, first).finished);
  SftRunOptions again;
  again.resume = true;
  const SftResult rb = run_sft(b, again);
  ASSERT_TRUE(rb.finished);
  const auto ta = read_records(a.log_path(), "train"), tb = read_records(b.log_path(), "train");
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_EQ(without_clock(ta[i]), without_clock(tb[i])) << "step " << i + 1;
  EXPECT_EQ(tensors_of(read_training_state(ra.last_checkpoint)), tensors_of(read_training_state(rb.last_checkpoint)));

  // Dropout acts: without it the same run's losses part from the second step on (at the first, B is zero).
  json other = o;
  other["lora"]["lora_dropout"] = 0.0;
  const SftConfig c = f.config(other, "c");
  run_sft(c);
  const auto tc = read_records(c.log_path(), "train");
  EXPECT_EQ(tc[0]["loss"], ta[0]["loss"]);
  EXPECT_NE(tc[1]["loss"], ta[1]["loss"]);
  // A full-fine-tuning resume of a LoRA run is refused (the settings differ).
  json full = o;
  full.erase("lora");
  expect_error([&] { run_sft(f.config(full, "b"), again); }, {"different settings", "lora"});
}

TEST(LoraSft, ConfigErrorsNameTheKey) {
  SftFixture f;
  expect_error([&] { f.config({{"lora", {{"r", 0}}}}); }, {"lora.r"});
  expect_error([&] { f.config({{"lora", {{"rank", 4}}}}); }, {"lora.rank"});
  expect_error([&] { f.config({{"lora", {{"lora_dropout", 1.0}}}}); }, {"lora_dropout"});
  expect_error([&] { f.config({{"lora", {{"target_modules", json::array()}}}}); }, {"lora.target_modules"});
  expect_error([&] { run_sft(f.config({{"lora", {{"target_modules", {"nothing"}}}}})); }, {"matches none"});
}

TEST(LoraSft, ForwardWithTheAdapterEqualsTheMergedModel) {
  SftFixture f;
  json o = with_base(f, kLora);
  o["epochs"] = 1;
  const SftConfig c = f.config(o);
  ASSERT_TRUE(run_sft(c).finished);
  const std::string adapter = c.out_dir + "/final", merged = (f.dir.path / "merged").string();
  const std::string base = base_dir(f);
  const CommandResult m =
      run_gemma_tune("merge --model " + base + " --adapter " + adapter + " --out " + merged + " --tokenizer " +
                     f.tokenizer);
  ASSERT_EQ(m.rc, 0) << m.output;
  EXPECT_TRUE(fs::exists(merged + "/tokenizer.json"));
  auto forward = [&](const std::string& args, const std::string& out) {
    const CommandResult r = run_gemma_tune("forward --ids 2,17,260,99,5,261 --out " + out + " " + args);
    EXPECT_EQ(r.rc, 0) << r.output;
    return SafetensorsFile::open(out).get("logits").to_floats();
  };
  const std::string dir = f.dir.path.string();
  const auto with_adapter = forward("--model " + base + " --adapter " + adapter, dir + "/a.safetensors");
  const auto from_merged = forward("--model " + merged, dir + "/m.safetensors");
  const auto plain = forward("--model " + base, dir + "/p.safetensors");
  double diff = 0, moved = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(with_adapter[i] - from_merged[i])));
    moved = std::max(moved, static_cast<double>(std::abs(with_adapter[i] - plain[i])));
  }
  EXPECT_LT(diff, 1e-4);
  EXPECT_GT(moved, 1e-3);
  const CommandResult bad = run_gemma_tune("merge --model " + base + " --adapter " + base + " --out " + merged +
                                           " --tokenizer " + f.tokenizer);
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.output.find("adapter_config.json"), std::string::npos) << bad.output;
}
