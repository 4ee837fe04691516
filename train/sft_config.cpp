#include "train/sft_config.h"


#include "base/error.h"

namespace gt::train {

using nlohmann::json;

const char* truncation_name(Truncation t) {
  switch (t) {
    case Truncation::PromptLeft: return "prompt_left";
    case Truncation::KeepStart: return "keep_start";
    case Truncation::Drop: return "drop";
  }
  return "?";
}

SftConfig parse_sft_config(const json& j, const std::string& path) {
  SftConfig c;
  c.path = path;
  Section root(j, path, "");

  root.require("model");
  Section model = root.section("model");
  c.model = read_model_source(model, path);

  root.require("tokenizer");
  c.tokenizer = root.path("tokenizer");

  root.require("data");
  Section data = root.section("data");
  data.require("train");
  c.train_data = data.path("train");
  c.heldout_data = data.path("heldout");
  c.max_length = data.integer("max_length", c.max_length, 2);
  c.truncation = data.choice(
      "truncation", c.truncation,
      {{"prompt_left", Truncation::PromptLeft}, {"keep_start", Truncation::KeepStart}, {"drop", Truncation::Drop}});
  data.done();

  root.require("out_dir");
  c.out_dir = root.path("out_dir");
  c.epochs = root.integer("epochs", c.epochs, 1);
  c.max_steps = root.integer("max_steps", c.max_steps, 0);
  c.seed = root.seed("seed", c.seed);
  c.batch_size = root.integer("batch_size", c.batch_size, 1);
  c.grad_accumulation = root.integer("grad_accumulation", c.grad_accumulation, 1);
  if (root.boolean("packing", false)) root.bad("packing", "= true is not supported yet (one sample per sequence)");
  c.grad_clip = root.number("grad_clip", c.grad_clip);
  if (!(c.grad_clip >= 0)) root.bad("grad_clip", "must be >= 0 (0 turns clipping off)");

  Section opt = root.section("optimizer");
  const OptimizerConfig oc = read_optimizer(opt, 2e-5, c.seed, path);
  c.optimizer = oc.kind;
  c.adafactor = oc.adafactor;
  c.adamw = oc.adamw;
  Section sched = root.section("schedule");
  read_schedule(sched, oc, c.schedule, c.warmup_steps, path);

  Section ev = root.section("eval");
  read_eval_cadence(ev, c);
  ev.done();
  read_checkpoint_and_logging(root, c);
  root.done();
  return c;
}

SftConfig load_sft_config(const std::string& path) {
  return parse_sft_config(read_config_file(path, "the SFT config"), path);
}

json training_identity(const SftConfig& c) {
  return {{"model", model_identity(c.model)},
          {"data", {{"max_length", c.max_length}, {"truncation", truncation_name(c.truncation)}}},
          {"epochs", c.epochs},
          {"max_steps", c.max_steps},
          {"seed", c.seed},
          {"batch_size", c.batch_size},
          {"grad_accumulation", c.grad_accumulation},
          {"grad_clip", c.grad_clip},
          {"optimizer", optimizer_json(c.optimizer_config())},
          {"schedule", {{"name", schedule_name(c.schedule)}, {"warmup_steps", c.warmup_steps}}}};
}

json to_json(const SftConfig& c) {
  json j = training_identity(c);
  if (c.model.dir.empty())
    j["model"]["config"] = c.model.config;
  else
    j["model"]["dir"] = c.model.dir;
  j["tokenizer"] = c.tokenizer;
  j["data"]["train"] = c.train_data;
  if (!c.heldout_data.empty()) j["data"]["heldout"] = c.heldout_data;
  j["packing"] = false;
  write_run_settings(j, c);
  return j;
}

}  // namespace gt::train
