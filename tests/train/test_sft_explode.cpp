// Runs that explode: a step whose loss, gradient or updated weights are not finite ends the run with an error (exit
// status != 0), without a checkpoint of that step or an export, and `latest` stays at the last finite state; a model
// folder with a NaN or an infinity in its weights is refused at load (forward, eval, generate, training).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "sft_fixture.h"
#include "support/expect_error.h"
#include "train/checkpoint.h"
#include "train/sft.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

// Every weight and optimizer value of the checkpoint `latest` names is finite (reading it verifies the checksums).
void expect_latest_finite(const std::string& out_dir) {
  const std::optional<std::string> latest = CheckpointDir(out_dir + "/checkpoints", 0).latest();
  if (!latest) return;
  const TrainingState s = read_training_state(*latest);
  for (const auto* group : {&s.model, &s.optimizer.tensors})
    for (const auto& [name, t] : *group) {
      if (!is_floating(t.dtype())) continue;
      for (float v : t.to_floats()) ASSERT_TRUE(std::isfinite(v)) << *latest << ": " << name;
    }
}

// The "step N" an error names.
std::string step_named(const std::string& message) {
  const size_t at = message.find("step ");
  return at == std::string::npos ? "" : message.substr(at, message.find(':', at) - at);
}

}  // namespace

TEST(SftExplode, Lr1e9FailsAndEveryResumeFailsAgainAtTheSameStepFromAFiniteCheckpoint) {
  SftFixture f;
  const std::string cfg =
      f.config_file({{"optimizer", {{"lr", 1e9}}}, {"checkpoint", {{"every", 1}, {"keep_last", 0}}}});
  const CommandResult first = run_gemma_tune("sft --config " + cfg);
  EXPECT_NE(first.rc, 0) << first.output;
  EXPECT_NE(first.output.find("error: sft: step "), std::string::npos) << first.output;
  EXPECT_FALSE(fs::exists(f.out() + "/final"));
  expect_latest_finite(f.out());
  const std::string step = step_named(first.output.substr(std::min(first.output.size(), first.output.find("error"))));
  ASSERT_FALSE(step.empty()) << first.output;
  if (!CheckpointDir(f.out() + "/checkpoints", 0).latest()) return;  // it failed at step 1: nothing to resume
  const CommandResult again = run_gemma_tune("sft --config " + cfg + " --resume");
  EXPECT_NE(again.rc, 0) << again.output;
  EXPECT_NE(again.output.find(step + ":"), std::string::npos) << step << "\n" << again.output;
  expect_latest_finite(f.out());
}

TEST(SftExplode, Lr1e308OnTheLastStepFailsWithoutCheckpointOrExport) {
  SftFixture f;
  const std::string cfg = f.config_file({{"optimizer", {{"lr", 1e308}}}, {"epochs", 1}, {"batch_size", 6}});
  const CommandResult r = run_gemma_tune("sft --config " + cfg);
  EXPECT_NE(r.rc, 0) << r.output;
  for (const char* part : {"step 1", "non-finite", "nothing of this step is saved"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
  EXPECT_FALSE(fs::exists(f.out() + "/final"));
  EXPECT_FALSE(CheckpointDir(f.out() + "/checkpoints", 0).latest());
}

TEST(SftExplode, AModelFolderWithANonFiniteWeightIsRefusedAtLoad) {
  SftFixture f;
  Gemma4 m = Gemma4::random(load_gemma4_config(f.model_config), 7);
  m.state().at("layers.2.mlp.down_proj.weight").data<float>()[5] = std::numeric_limits<float>::infinity();
  const std::string dir = (f.dir.path / "bad_model").string();
  m.save(dir);
  fs::copy_file(f.tokenizer, dir + "/tokenizer.json");
  const char* named[] = {"bad_model/model.safetensors", "tensor 'model.layers.2.mlp.down_proj.weight'",
                         "non-finite"};
  expect_error([&] { Gemma4::load(dir, LoadOptions{StoragePolicy::Keep, [](const std::string&) {}}); },
               {named[0], named[1], named[2]});
  const CommandResult fwd =
      run_gemma_tune("forward --model " + dir + " --ids 2,17,9 --out " + (f.dir.path / "o.safetensors").string());
  const CommandResult ev = run_gemma_tune("eval --model " + dir + " --data " + f.heldout + " --out " +
                                          (f.dir.path / "eval").string());
  for (const CommandResult* r : {&fwd, &ev}) {
    EXPECT_NE(r->rc, 0) << r->output;
    for (const char* part : named) EXPECT_NE(r->output.find(part), std::string::npos) << part << "\n" << r->output;
  }
  // Training from it stops at load too.
  const json from_dir = {{"model", {{"dir", dir}, {"config", nullptr}, {"init_seed", nullptr}}}};
  const CommandResult sft = run_gemma_tune("sft --config " + f.config_file(from_dir));
  EXPECT_NE(sft.rc, 0);
  EXPECT_NE(sft.output.find(named[1]), std::string::npos) << sft.output;
}
