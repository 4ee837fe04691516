// `export` of mid-run training checkpoints as transformers folders: the last step's export is `final/` byte for
// byte, every way of naming a checkpoint works, and bad sources are errors naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "export/export.h"
#include "export_fixture.h"
#include "model/checkpoint.h"
#include "support/expect_error.h"
#include "train/checkpoint.h"
#include "train/sft.h"

using namespace gt;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

std::string export_hf_of(const std::string& source, const std::string& out) {
  const exporter::ExportSource s = exporter::open_export_source(source, nullptr);
  return exporter::run_export(s, out, {});
}

}  // namespace

TEST(ExportCheckpoint, LastStepEqualsFinalAndEveryNameOfACheckpointWorks) {
  SftFixture f;
  const train::SftConfig c = f.config({{"epochs", 1}, {"checkpoint", {{"every", 2}, {"keep_last", 0}}}});
  const train::SftResult r = train::run_sft(c);
  ASSERT_TRUE(r.finished);
  const fs::path run = f.out(), final_dir = run / "final";
  const std::string last = train::CheckpointDir((run / "checkpoints").string(), 0).path_for(r.step);
  for (const std::string& source : {run.string(), (run / "checkpoints").string(),
                                    (run / "checkpoints" / "latest").string(), last}) {
    SCOPED_TRACE(source);
    const std::string out = f.out("exported");
    EXPECT_EQ(export_hf_of(source, out), out);
    EXPECT_EQ(file_bytes(fs::path(out) / "model.safetensors"), file_bytes(final_dir / "model.safetensors"));
    for (const char* name : {"config.json", "tokenizer.json", "generation_config.json"})
      EXPECT_EQ(file_bytes(fs::path(out) / name), file_bytes(final_dir / name)) << name;
  }
}

TEST(ExportCheckpoint, AMidRunCheckpointHoldsThatStepsWeights) {
  SftFixture f;
  train::run_sft(f.config({{"epochs", 1}, {"checkpoint", {{"every", 2}, {"keep_last", 0}}}}));
  const std::string step2 = train::CheckpointDir(f.out() + "/checkpoints", 0).path_for(2);
  const std::string out = f.out("step2");
  export_hf_of(step2, out);
  const train::TrainingState st = train::read_training_state(step2);
  const CheckpointReader exported = CheckpointReader::open(out);
  for (const auto& [name, t] : st.model) EXPECT_EQ(exported.get("model." + name).to_floats(), t.to_floats()) << name;
  EXPECT_NE(file_bytes(fs::path(out) / "model.safetensors"), file_bytes(fs::path(f.out()) / "final/model.safetensors"));
  Gemma4::load(out, {.storage = StoragePolicy::Keep, .log = [](const std::string&) {}});
}

TEST(ExportCheckpoint, TheCommandLineWritesTheFolder) {
  SftFixture f;
  train::run_sft(f.config({{"epochs", 1}}));
  const CommandResult r = run_gemma_tune("export '" + f.out() + "' --out '" + f.out("cli") + "'");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(file_bytes(fs::path(f.out("cli")) / "model.safetensors"),
            file_bytes(fs::path(f.out()) / "final/model.safetensors"));
  const CommandResult bad = run_gemma_tune("export '" + f.out() + "' --out x --format onnx");
  EXPECT_NE(bad.rc, 0);
  EXPECT_NE(bad.output.find("onnx"), std::string::npos) << bad.output;
}

TEST(ExportCheckpoint, BadSourcesAreErrorsNamingTheFile) {
  SftFixture f;
  expect_error([&] { exporter::open_export_source(f.out("nowhere"), nullptr); }, {"nowhere", "does not exist"});
  fs::create_directories(f.out("empty"));
  expect_error([&] { exporter::open_export_source(f.out("empty"), nullptr); },
               {"empty", "neither a transformers folder"});
  const std::string junk = f.dir.write("junk.h5", "not hdf5 at all").string();
  expect_error([&] { exporter::open_export_source(junk, nullptr); }, {"junk.h5"});

  train::run_sft(f.config({{"epochs", 1}}));
  const std::string latest = *train::CheckpointDir(f.out() + "/checkpoints", 0).latest();
  fs::resize_file(latest, fs::file_size(latest) / 2);
  expect_error([&] { exporter::open_export_source(f.out(), nullptr); }, {latest.c_str()});
}

TEST(ExportCheckpoint, ACheckpointWithoutItsRunSettingsSaysWhatIsMissing) {
  SftFixture f;
  train::run_sft(f.config({{"epochs", 1}}));
  fs::remove(fs::path(f.out()) / "run_config.json");
  expect_error([&] { exporter::open_export_source(f.out(), nullptr); }, {"run_config.json", "missing"});
  std::ofstream(fs::path(f.out()) / "config.json") << R"({"architectures": ["Gemma4ForCausalLM"]})";
  expect_error([&] { exporter::open_export_source(f.out(), nullptr); }, {"config.json", "not the run's saved settings"});
}
