#include "train/sft_config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "autograd/error.h"
#include "train/config_section.h"

namespace gt::train {

using nlohmann::json;

namespace {

PrecisionOptions read_precision(ConfigSection& s, uint64_t seed) {
  PrecisionOptions p;
  p.master_weights = s.boolean("master_weights", p.master_weights);
  p.rounding =
      s.choice("rounding", p.rounding, {{"nearest", Rounding::NearestEven}, {"stochastic", Rounding::Stochastic}});
  p.seed = seed;
  return p;
}

// The optimizer classes validate their own options; running that check here puts the file in the message.
template <class Opt, class Options>
void validate(const Options& o, const std::string& file) {
  try {
    Opt probe({}, o);
  } catch (const Error& e) {
    fail(file, ": optimizer: ", e.what());
  }
}

}  // namespace

const char* truncation_name(Truncation t) {
  switch (t) {
    case Truncation::PromptLeft: return "prompt_left";
    case Truncation::KeepStart: return "keep_start";
    case Truncation::Drop: return "drop";
  }
  return "?";
}

const char* schedule_name(ScheduleKind s) {
  switch (s) {
    case ScheduleKind::None: return "none";
    case ScheduleKind::Linear: return "linear";
    case ScheduleKind::Cosine: return "cosine";
  }
  return "?";
}

double SftConfig::lr() const {
  if (optimizer == OptimizerKind::AdamW) return adamw.lr;
  return adafactor.lr.value_or(0.0);
}

std::string SftConfig::log_path() const { return (std::filesystem::path(out_dir) / log_file).string(); }

SftConfig parse_sft_config(const json& j, const std::string& path) {
  SftConfig c;
  c.path = path;
  ConfigSection root(j, path, "");

  ConfigSection model = root.section("model");
  root.require("model");
  c.model.dir = model.path("dir");
  c.model.config = model.path("config");
  GT_CHECK(c.model.dir.empty() != c.model.config.empty(), path,
           ": 'model' needs exactly one of 'dir' (a Hugging Face folder) and 'config' (a config.json for random "
           "initialisation)");
  if (!c.model.config.empty()) {
    c.model.init_seed = model.seed("init_seed", c.model.init_seed);
    c.model.init_std = model.number("init_std", c.model.init_std);
    if (!(c.model.init_std > 0)) model.bad("init_std", "must be > 0");
  } else {
    for (const char* k : {"init_seed", "init_std"})
      if (model.has(k)) model.bad(k, "only applies to random initialisation ('model.config')");
  }
  c.model.storage =
      model.choice("storage", c.model.storage,
                   {{"keep", StoragePolicy::Keep}, {"f32", StoragePolicy::F32}, {"bf16", StoragePolicy::BF16}});
  model.done();

  root.require("tokenizer");
  c.tokenizer = root.path("tokenizer");

  root.require("data");
  ConfigSection data = root.section("data");
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
  if (root.integer("batch_size", 1, 1) != 1)
    root.bad("batch_size", "> 1 is not supported yet; use grad_accumulation for a larger effective batch");
  c.grad_accumulation = root.integer("grad_accumulation", c.grad_accumulation, 1);
  if (root.boolean("packing", false)) root.bad("packing", "= true is not supported yet (one sample per sequence)");
  c.grad_clip = root.number("grad_clip", c.grad_clip);
  if (!(c.grad_clip >= 0)) root.bad("grad_clip", "must be >= 0 (0 turns clipping off)");

  ConfigSection opt = root.section("optimizer");
  c.optimizer =
      opt.choice("name", c.optimizer, {{"adafactor", OptimizerKind::Adafactor}, {"adamw", OptimizerKind::AdamW}});
  if (c.optimizer == OptimizerKind::Adafactor) {
    AdafactorOptions& a = c.adafactor;
    a.lr = opt.optional_number("lr", a.lr);
    a.eps1 = opt.number("eps1", a.eps1);
    a.eps2 = opt.number("eps2", a.eps2);
    a.clip_threshold = opt.number("clip_threshold", a.clip_threshold);
    a.decay_rate = opt.number("decay_rate", a.decay_rate);
    a.beta1 = opt.optional_number("beta1", a.beta1);
    a.weight_decay = opt.number("weight_decay", a.weight_decay);
    a.scale_parameter = opt.boolean("scale_parameter", a.scale_parameter);
    a.relative_step = opt.boolean("relative_step", a.relative_step);
    a.warmup_init = opt.boolean("warmup_init", a.warmup_init);
    // transformers' relative_step takes lr None; an explicit null says so, a missing lr would mean our 2e-5.
    if (a.relative_step && !opt.has("lr")) a.lr.reset();
    a.precision = read_precision(opt, c.seed);
    opt.done();
    validate<Adafactor>(a, path);
  } else {
    AdamWOptions& a = c.adamw;
    a.lr = opt.number("lr", 2e-5);
    a.beta1 = opt.number("beta1", a.beta1);
    a.beta2 = opt.number("beta2", a.beta2);
    a.eps = opt.number("eps", a.eps);
    a.weight_decay = opt.number("weight_decay", a.weight_decay);
    a.amsgrad = opt.boolean("amsgrad", a.amsgrad);
    a.precision = read_precision(opt, c.seed);
    opt.done();
    validate<AdamW>(a, path);
  }

  ConfigSection sched = root.section("schedule");
  c.schedule =
      sched.choice("name", c.schedule,
                   {{"none", ScheduleKind::None}, {"linear", ScheduleKind::Linear}, {"cosine", ScheduleKind::Cosine}});
  c.warmup_steps = sched.integer("warmup_steps", c.warmup_steps, 0);
  sched.done();
  if (c.optimizer == OptimizerKind::Adafactor && c.adafactor.relative_step &&
      (c.schedule != ScheduleKind::None || c.warmup_steps > 0))
    fail(path,
         ": 'schedule' must be none without warmup when 'optimizer.relative_step' is true (Adafactor then "
         "sets its own step size)");

  ConfigSection ev = root.section("eval");
  c.eval_every = ev.integer("every", c.eval_every, 0);
  c.eval_max_samples = ev.integer("max_samples", c.eval_max_samples, 0);
  ev.done();

  ConfigSection ck = root.section("checkpoint");
  c.save_every = ck.integer("every", c.save_every, 0);
  c.keep_last = ck.integer("keep_last", c.keep_last, 0);
  ck.done();

  c.checkpoint_layers = root.boolean("checkpoint_layers", c.checkpoint_layers);
  c.log_file = root.path("log_file", c.log_file);
  c.progress_every_s = root.number("progress_every_s", c.progress_every_s);
  if (!(c.progress_every_s >= 0)) root.bad("progress_every_s", "must be >= 0");
  root.done();
  return c;
}

SftConfig load_sft_config(const std::string& path) {
  std::ifstream f(path);
  GT_CHECK(f, path, ": cannot open the SFT config");
  std::stringstream ss;
  ss << f.rdbuf();
  json j;
  try {
    j = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail(path, ": not valid JSON (", e.what(), ")");
  }
  return parse_sft_config(j, path);
}

namespace {

json precision_json(const PrecisionOptions& p) {
  return {{"master_weights", p.master_weights},
          {"rounding", p.rounding == Rounding::Stochastic ? "stochastic" : "nearest"}};
}

json optimizer_json(const SftConfig& c) {
  json o;
  if (c.optimizer == OptimizerKind::Adafactor) {
    const AdafactorOptions& a = c.adafactor;
    o = {{"name", "adafactor"},
         {"lr", a.lr ? json(*a.lr) : json(nullptr)},
         {"eps1", a.eps1},
         {"eps2", a.eps2},
         {"clip_threshold", a.clip_threshold},
         {"decay_rate", a.decay_rate},
         {"beta1", a.beta1 ? json(*a.beta1) : json(nullptr)},
         {"weight_decay", a.weight_decay},
         {"scale_parameter", a.scale_parameter},
         {"relative_step", a.relative_step},
         {"warmup_init", a.warmup_init}};
    o.update(precision_json(a.precision));
  } else {
    const AdamWOptions& a = c.adamw;
    o = {{"name", "adamw"},     {"lr", a.lr},   {"beta1", a.beta1},
         {"beta2", a.beta2},    {"eps", a.eps}, {"weight_decay", a.weight_decay},
         {"amsgrad", a.amsgrad}};
    o.update(precision_json(a.precision));
  }
  return o;
}

const char* storage_name(StoragePolicy s) {
  switch (s) {
    case StoragePolicy::Keep: return "keep";
    case StoragePolicy::F32: return "f32";
    case StoragePolicy::BF16: return "bf16";
  }
  return "?";
}

}  // namespace

json training_identity(const SftConfig& c) {
  json model = {{"storage", storage_name(c.model.storage)}};
  if (!c.model.config.empty()) model.update({{"init_seed", c.model.init_seed}, {"init_std", c.model.init_std}});
  return {{"model", model},
          {"data", {{"max_length", c.max_length}, {"truncation", truncation_name(c.truncation)}}},
          {"epochs", c.epochs},
          {"max_steps", c.max_steps},
          {"seed", c.seed},
          {"grad_accumulation", c.grad_accumulation},
          {"grad_clip", c.grad_clip},
          {"optimizer", optimizer_json(c)},
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
  j["out_dir"] = c.out_dir;
  j["batch_size"] = 1;
  j["packing"] = false;
  j["eval"] = {{"every", c.eval_every}, {"max_samples", c.eval_max_samples}};
  j["checkpoint"] = {{"every", c.save_every}, {"keep_last", c.keep_last}};
  j["checkpoint_layers"] = c.checkpoint_layers;
  j["log_file"] = c.log_file;
  j["progress_every_s"] = c.progress_every_s;
  return j;
}

}  // namespace gt::train
