#include "train/trainer_config.h"

#include <cmath>
#include <filesystem>

#include "base/error.h"
#include "train/lora_config.h"

namespace gt::train {

using nlohmann::json;

namespace {

// "every" and "max_samples" of `eval` (left open for a trainer's own eval keys).
void read_eval_cadence(Section& eval, RunSettings& s) {
  s.eval_every = eval.integer("every", s.eval_every, 0);
  s.eval_max_samples = eval.integer("max_samples", s.eval_max_samples, 0);
}

// "checkpoint" {"every", "keep_last"}, "checkpoint_layers", "log_file", "progress_every_s".
void read_checkpoint_and_logging(Section& root, RunSettings& s) {
  Section ck = root.section("checkpoint");
  s.save_every = ck.integer("every", s.save_every, 0);
  s.keep_last = ck.integer("keep_last", s.keep_last, 0);
  ck.done();
  s.checkpoint_layers = root.boolean("checkpoint_layers", s.checkpoint_layers);
  s.log_file = root.path("log_file", s.log_file);
  s.progress_every_s = root.number("progress_every_s", s.progress_every_s);
  if (!(s.progress_every_s >= 0)) root.bad("progress_every_s", "must be >= 0");
}

// Writes them back under the same keys (a trainer adds its own eval keys to j["eval"]).
void write_run_settings(json& j, const RunSettings& s) {
  j["out_dir"] = s.out_dir;
  j["eval"] = {{"every", s.eval_every}, {"max_samples", s.eval_max_samples}};
  j["checkpoint"] = {{"every", s.save_every}, {"keep_last", s.keep_last}};
  j["checkpoint_layers"] = s.checkpoint_layers;
  j["log_file"] = s.log_file;
  j["progress_every_s"] = s.progress_every_s;
}

void read_tokenizer(Section& root, TrainerConfig& c, bool from_model_dir) {
  if (!from_model_dir) root.require("tokenizer");
  c.tokenizer = root.path("tokenizer");
  if (!c.tokenizer.empty()) return;
  GT_CHECK(!c.model.dir.empty(), c.path, ": missing required key 'tokenizer' (only 'model.dir' implies one)");
  c.tokenizer = (std::filesystem::path(c.model.dir) / "tokenizer.json").string();
}

}  // namespace

std::string RunSettings::log_path() const { return (std::filesystem::path(out_dir) / log_file).string(); }

OpenSections read_trainer_config(Section& root, TrainerConfig& c, const SharedDefaults& d) {
  root.require("model");
  Section model = root.section("model");
  c.model = read_model_source(model, c.path);
  read_tokenizer(root, c, d.tokenizer_from_model_dir);

  root.require("data");
  Section data = root.section("data");
  data.require("train");
  c.train_data = data.path("train");
  c.heldout_data = data.path("heldout");

  root.require("out_dir");
  c.out_dir = root.path("out_dir");
  c.epochs = root.integer("epochs", c.epochs, 1);
  c.max_steps = root.integer("max_steps", c.max_steps, 0);
  c.seed = root.seed("seed", c.seed);
  c.batch_size = root.integer("batch_size", c.batch_size, 1);
  c.grad_clip = root.number("grad_clip", c.grad_clip);
  if (!(c.grad_clip >= 0)) root.bad("grad_clip", "must be >= 0 (0 turns clipping off)");

  Section opt = root.section("optimizer");
  const OptimizerConfig oc = read_optimizer(opt, d.lr, c.seed);
  c.optimizer = oc.kind;
  c.adafactor = oc.adafactor;
  c.adamw = oc.adamw;
  Section sched = root.section("schedule");
  read_schedule(sched, oc, c.schedule, c.warmup_steps, c.warmup_ratio);

  Section eval = root.section("eval");
  read_eval_cadence(eval, c);
  read_checkpoint_and_logging(root, c);
  if (root.has("lora")) {
    Section lora = root.section("lora");
    c.lora = read_lora_section(lora);
    lora.done();
  }
  return {std::move(data), std::move(eval)};
}

int64_t TrainerConfig::warmup_for(int64_t total) const {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(warmup_ratio * static_cast<double>(total)));
}

json trainer_identity(const TrainerConfig& c) {
  json j = {{"model", model_identity(c.model)},
          {"epochs", c.epochs},
          {"max_steps", c.max_steps},
          {"seed", c.seed},
          {"batch_size", c.batch_size},
          {"grad_clip", c.grad_clip},
          {"optimizer", optimizer_json(c.optimizer_config())},
          {"schedule", {{"name", schedule_name(c.schedule)}, {"warmup_steps", c.warmup_steps}}}};
  // Absent when 0, so runs that never set it keep their identity (and resume).
  if (c.warmup_ratio > 0) j["schedule"]["warmup_ratio"] = c.warmup_ratio;
  if (c.lora) j["lora"] = lora_json(*c.lora);  // absent otherwise, so full runs keep their identity
  return j;
}

void write_trainer_config(json& j, const TrainerConfig& c) {
  if (c.model.dir.empty())
    j["model"]["config"] = c.model.config;
  else
    j["model"]["dir"] = c.model.dir;
  j["tokenizer"] = c.tokenizer;
  j["data"]["train"] = c.train_data;
  if (!c.heldout_data.empty()) j["data"]["heldout"] = c.heldout_data;
  write_run_settings(j, c);
}

}  // namespace gt::train
