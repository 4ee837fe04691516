#include "rl/grpo_config.h"

#include <cmath>
#include <filesystem>

#include "base/error.h"

namespace gt::rl {

using nlohmann::json;
using train::Section;

namespace {

double positive(Section& s, const char* key, double def) {
  const double v = s.number(key, def);
  if (!(v > 0) || !std::isfinite(v)) s.bad(key, "must be > 0");
  return v;
}

void read_sampling(Section& s, SamplingOptions& o, bool greedy_allowed) {
  o.temperature = s.number("temperature", o.temperature);
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature) || (!greedy_allowed && o.temperature == 0))
    s.bad("temperature", greedy_allowed ? "must be >= 0" : "must be > 0 (GRPO needs sampled groups)");
  o.top_p = s.number("top_p", o.top_p);
  if (!(o.top_p > 0 && o.top_p <= 1)) s.bad("top_p", "must be in (0, 1]");
  o.top_k = s.integer("top_k", o.top_k, 0);
}

}  // namespace

GrpoConfig parse_grpo_config(const json& j, const std::string& path) {
  GrpoConfig c;
  c.path = path;
  Section root(j, path, "");

  root.require("model");
  Section model = root.section("model");
  c.model = train::read_model_source(model, path);
  c.tokenizer = root.path("tokenizer");
  if (c.tokenizer.empty()) {
    GT_CHECK(!c.model.dir.empty(), path, ": missing required key 'tokenizer' (only 'model.dir' implies one)");
    c.tokenizer = (std::filesystem::path(c.model.dir) / "tokenizer.json").string();
  }

  root.require("data");
  Section data = root.section("data");
  data.require("train");
  c.train_data = data.path("train");
  c.heldout_data = data.path("heldout");
  c.max_prompt_length = data.integer("max_prompt_length", c.max_prompt_length, 2);
  data.done();

  root.require("out_dir");
  c.out_dir = root.path("out_dir");
  c.max_steps = root.integer("max_steps", c.max_steps, 0);
  c.epochs = root.integer("epochs", c.epochs, 1);
  c.seed = root.seed("seed", c.seed);
  c.prompts_per_step = root.integer("prompts_per_step", c.prompts_per_step, 1);
  c.batch_size = root.integer("batch_size", c.batch_size, 1);
  c.num_iterations = root.integer("num_iterations", c.num_iterations, 1);
  c.grad_clip = root.number("grad_clip", c.grad_clip);
  if (!(c.grad_clip >= 0)) root.bad("grad_clip", "must be >= 0 (0 turns clipping off)");

  Section gen = root.section("generation");
  c.num_generations = gen.integer("num_generations", c.num_generations, 2);
  SamplingOptions so{c.temperature, c.top_k, c.top_p, 0};
  read_sampling(gen, so, false);
  c.temperature = so.temperature;
  c.top_p = so.top_p;
  c.top_k = so.top_k;
  c.max_completion_length = gen.integer("max_completion_length", c.max_completion_length, 1);
  gen.done();
  if (c.generation_batch() % c.batch_size != 0)
    root.bad("batch_size", "(" + std::to_string(c.batch_size) + ") must divide prompts_per_step * num_generations (" +
                               std::to_string(c.generation_batch()) + ")");

  Section loss = root.section("loss");
  c.loss_type = loss.choice(
      "type", c.loss_type,
      {{"dapo", LossType::Dapo}, {"grpo", LossType::Grpo}, {"bnpo", LossType::Bnpo}, {"dr_grpo", LossType::DrGrpo}});
  c.epsilon_low = loss.number("epsilon_low", c.epsilon_low);
  if (!(c.epsilon_low >= 0 && c.epsilon_low < 1)) loss.bad("epsilon_low", "must be in [0, 1)");
  c.epsilon_high = loss.number("epsilon_high", c.epsilon_high);
  if (!(c.epsilon_high >= 0) || !std::isfinite(c.epsilon_high)) loss.bad("epsilon_high", "must be >= 0");
  c.beta = loss.number("beta", c.beta);
  if (!(c.beta >= 0) || !std::isfinite(c.beta)) loss.bad("beta", "must be >= 0");
  c.scale_rewards =
      loss.choice("scale_rewards", c.scale_rewards,
                  {{"group", ScaleRewards::Group}, {"batch", ScaleRewards::Batch}, {"none", ScaleRewards::None}});
  c.mask_truncated_completions = loss.boolean("mask_truncated_completions", c.mask_truncated_completions);
  loss.done();

  Section reward = root.section("reward");
  if (const json* w = reward.find("weights")) {
    if (w->is_string()) {
      if (w->get<std::string>().empty()) reward.bad("weights", "must not be empty");
      c.reward_weights = RewardWeights::load(w->get<std::string>());
    } else if (w->is_object()) {
      c.reward_weights = RewardWeights::from_json(*w, path + ": 'reward.weights'");
    } else {
      reward.bad("weights", std::string("must be an object or a file name, got ") + train::json_type_name(*w));
    }
  }
  c.reward_command = reward.str("command", c.reward_command);
  c.reward_timeout_s = positive(reward, "timeout_s", c.reward_timeout_s);
  reward.done();

  Section opt = root.section("optimizer");
  const train::OptimizerConfig oc = train::read_optimizer(opt, 1e-6, c.seed, path);
  c.optimizer = oc.kind;
  c.adafactor = oc.adafactor;
  c.adamw = oc.adamw;
  Section sched = root.section("schedule");
  train::read_schedule(sched, oc, c.schedule, c.warmup_steps, path);

  Section ev = root.section("eval");
  train::read_eval_cadence(ev, c);
  c.eval_max_new_tokens = ev.integer("max_new_tokens", c.eval_max_new_tokens, 1);
  read_sampling(ev, c.eval_sampling, true);
  c.eval_sampling.seed = ev.seed("seed", c.eval_sampling.seed);
  ev.done();
  train::read_checkpoint_and_logging(root, c);
  c.log_completions = root.integer("log_completions", c.log_completions, 0);
  root.done();
  return c;
}

GrpoConfig load_grpo_config(const std::string& path) {
  return parse_grpo_config(train::read_config_file(path, "the GRPO config"), path);
}

json training_identity(const GrpoConfig& c) {
  return {{"model", train::model_identity(c.model)},
          {"data", {{"max_prompt_length", c.max_prompt_length}}},
          {"max_steps", c.max_steps},
          {"epochs", c.epochs},
          {"seed", c.seed},
          {"prompts_per_step", c.prompts_per_step},
          {"batch_size", c.batch_size},
          {"num_iterations", c.num_iterations},
          {"grad_clip", c.grad_clip},
          {"generation",
           {{"num_generations", c.num_generations},
            {"temperature", c.temperature},
            {"top_p", c.top_p},
            {"top_k", c.top_k},
            {"max_completion_length", c.max_completion_length}}},
          {"loss",
           {{"type", loss_type_name(c.loss_type)},
            {"epsilon_low", c.epsilon_low},
            {"epsilon_high", c.epsilon_high},
            {"beta", c.beta},
            {"scale_rewards", scale_rewards_name(c.scale_rewards)},
            {"mask_truncated_completions", c.mask_truncated_completions}}},
          {"reward", {{"weights", c.reward_weights.to_json()}, {"command", c.reward_command}}},
          {"optimizer", train::optimizer_json(c.optimizer_config())},
          {"schedule", {{"name", train::schedule_name(c.schedule)}, {"warmup_steps", c.warmup_steps}}}};
}

json to_json(const GrpoConfig& c) {
  json j = training_identity(c);
  if (c.model.dir.empty())
    j["model"]["config"] = c.model.config;
  else
    j["model"]["dir"] = c.model.dir;
  j["tokenizer"] = c.tokenizer;
  j["data"]["train"] = c.train_data;
  if (!c.heldout_data.empty()) j["data"]["heldout"] = c.heldout_data;
  j["reward"]["timeout_s"] = c.reward_timeout_s;
  train::write_run_settings(j, c);
  j["eval"].update({{"max_new_tokens", c.eval_max_new_tokens},
                    {"temperature", c.eval_sampling.temperature},
                    {"top_p", c.eval_sampling.top_p},
                    {"top_k", c.eval_sampling.top_k},
                    {"seed", c.eval_sampling.seed}});
  j["log_completions"] = c.log_completions;
  return j;
}

}  // namespace gt::rl
