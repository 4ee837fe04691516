#include "export/export.h"

#include <filesystem>
#include <optional>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "export/fp8.h"
#include "export/gguf_gemma.h"
#include "train/checkpoint.h"
#include "train/training_run.h"

namespace gt::exporter {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_hf_folder(const fs::path& dir) {
  return fs::exists(dir / "config.json") &&
         (fs::exists(dir / "model.safetensors") || fs::exists(dir / "model.safetensors.index.json"));
}

// The training state SOURCE names, or nothing when SOURCE is a transformers folder.
std::optional<std::string> state_file(const fs::path& source) {
  GT_CHECK(fs::exists(source), source.string(),
           ": does not exist (export takes a transformers folder, a run folder, its checkpoints/ folder, a "
           "checkpoints/latest file or a step-*.h5 training state)");
  if (fs::is_directory(source)) {
    if (is_hf_folder(source)) return std::nullopt;
    for (const fs::path& dir : {source, source / "checkpoints"})
      if (fs::exists(dir / "latest")) {
        const std::optional<std::string> f = train::CheckpointDir(dir.string(), 0).latest();
        GT_CHECK(f, (dir / "latest").string(), ": names no checkpoint");
        return f;
      }
    fail(source.string(), ": neither a transformers folder (config.json with model.safetensors) nor a run folder "
         "(checkpoints/latest) nor a checkpoints folder (latest)");
  }
  if (source.filename() == "latest") {
    const std::optional<std::string> f = train::CheckpointDir(source.parent_path().string(), 0).latest();
    GT_CHECK(f, source.string(), ": names no checkpoint");
    return f;
  }
  return source.string();
}

// The run's saved settings: OUT/run_config.json, or OUT/config.json from runs before that name.
json run_settings(const fs::path& state) {
  const fs::path run = fs::absolute(state).parent_path().parent_path();
  for (const char* name : {"run_config.json", "config.json"}) {
    const fs::path p = run / name;
    if (!fs::exists(p)) continue;
    const json j = read_json_file(p);
    GT_CHECK(j.is_object() && j.contains("model") && j["model"].is_object() && j.contains("tokenizer") &&
                 j["tokenizer"].is_string(),
             p.string(), ": not the run's saved settings (no 'model' object and 'tokenizer' path), so the model "
             "and tokenizer of ", state.string(), " are unknown");
    return j;
  }
  fail(state.string(), ": the run's saved settings (", (run / "run_config.json").string(),
       ") are missing, so its model and tokenizer are unknown; a checkpoint is exported from inside its run folder "
       "(OUT/checkpoints/step-*.h5)");
}

std::string settings_path(const json& j, const char* section, const char* key, const fs::path& state) {
  const json* holder = section ? (j.contains(section) ? &j[section] : nullptr) : &j;
  if (!holder || !holder->is_object()) return "";
  const json v = holder->value(key, json());
  if (!v.is_string()) return "";
  const std::string p = v.get<std::string>();
  GT_CHECK(fs::exists(p), state.string(), ": its run's ", section ? std::string(section) + "." : "", key, " '", p,
           "' does not exist (paths are as the run was started; export from the folder it ran in)");
  return p;
}

ExportSource from_checkpoint(const std::string& file, std::ostream* log) {
  const train::TrainingState st = train::read_training_state(file);
  const json settings = run_settings(file);
  const json identity = st.meta.value("identity", json::object());
  const json model_id = identity.value("model", json::object());
  train::ModelSource m;
  m.dir = settings_path(settings, "model", "dir", file);
  m.config = settings_path(settings, "model", "config", file);
  GT_CHECK(m.dir.empty() != m.config.empty(), file, ": its run's settings name neither model.dir nor model.config");
  m.init_seed = model_id.value("init_seed", uint64_t{0});
  const std::string storage = model_id.value("storage", "keep");
  for (StoragePolicy p : {StoragePolicy::Keep, StoragePolicy::F32, StoragePolicy::BF16})
    if (storage == train::storage_name(p)) m.storage = p;
  ExportSource s{train::build_model(m, file, "export", log), settings_path(settings, nullptr, "tokenizer", file),
                 m.dir, ""};
  // The hash of a run covers its model config; a model folder edited since would pair these weights with
  // another architecture.
  const json saved = identity.value("model_config", json());
  GT_CHECK(saved.is_null() || saved == json::parse(s.model.config().json.dump()), file, ": the model config at ",
           m.dir.empty() ? m.config : m.dir, " differs from the one this checkpoint was trained with");
  train::load_model_tensors(s.model.state(), st, file);
  s.what = "checkpoint " + file + " (step " + std::to_string(st.step) + ")";
  return s;
}

}  // namespace

ExportSource open_export_source(const std::string& source, std::ostream* log) {
  const std::optional<std::string> state = state_file(source);
  if (state) return from_checkpoint(*state, log);
  const fs::path tok = fs::path(source) / "tokenizer.json";
  GT_CHECK(fs::exists(tok), tok.string(), ": missing (an export carries the model's tokenizer)");
  LoadOptions lo;
  lo.log = [log](const std::string& line) {
    if (log) *log << "export: " << line << "\n";
  };
  return {Gemma4::load(source, lo), tok.string(), source, "transformers folder " + source};
}

std::string run_export(const ExportSource& s, const std::string& out, const ExportOptions& o) {
  switch (o.format) {
    case Format::HF:
      train::export_hf(s.model, s.tokenizer_json, out, s.source_dir);
      return out;
    case Format::FP8:
      train::export_hf(s.model, s.tokenizer_json, out, s.source_dir,
                       [&](const std::string& dir) { write_fp8_model(s.model, dir); });
      return out;
    case Format::GGUF: {
      fs::path file = out;
      if (file.extension() != ".gguf") file = file / (std::string("model-") + gguf_type_name(o.gguf_type) + ".gguf");
      if (file.has_parent_path()) fs::create_directories(file.parent_path());
      write_gemma_gguf(s.model, s.tokenizer_json, s.source_dir, file.string(), o.gguf_type);
      return file.string();
    }
  }
  return out;
}

}  // namespace gt::exporter
