#include "rl/grpo_config.h"

#include <cmath>

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
  Section root = Section::with_hf_names(j, path);

  auto [data, eval] = train::read_trainer_config(root, c, {.lr = 1e-6, .tokenizer_from_model_dir = true});
  c.max_prompt_length = data.integer("max_prompt_length", c.max_prompt_length, 2);
  c.chat_template_kwargs = train::read_chat_template_kwargs(data);
  data.done();
  c.prompts_per_step = root.integer("prompts_per_step", c.prompts_per_step, 1);
  c.num_iterations = root.integer("num_iterations", c.num_iterations, 1);

  Section gen = root.section("generation");
  c.num_generations = gen.integer("num_generations", c.num_generations, 2);
  SamplingOptions so{c.temperature, c.top_k, c.top_p, 0};
  read_sampling(gen, so, false);
  c.temperature = so.temperature;
  c.top_p = so.top_p;
  c.top_k = so.top_k;
  c.max_completion_length = gen.integer("max_completion_length", c.max_completion_length, 1);
  c.dynamic_sampling = gen.boolean("dynamic_sampling", c.dynamic_sampling);
  c.max_resamples = gen.integer("max_resamples", c.max_resamples, 0);
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
  // TRL's epsilon_high, when not given, is epsilon: so here when the lower bound is given by TRL's name.
  c.epsilon_high = loss.number("epsilon_high", loss.given_as("epsilon_low").empty() ? c.epsilon_high : c.epsilon_low);
  if (!(c.epsilon_high >= 0) || !std::isfinite(c.epsilon_high)) loss.bad("epsilon_high", "must be >= 0");
  c.beta = loss.number("beta", c.beta);
  if (!(c.beta >= 0) || !std::isfinite(c.beta)) loss.bad("beta", "must be >= 0");
  c.scale_rewards =
      loss.choice("scale_rewards", c.scale_rewards,
                  {{"group", ScaleRewards::Group}, {"batch", ScaleRewards::Batch}, {"none", ScaleRewards::None}});
  c.mask_truncated_completions = loss.boolean("mask_truncated_completions", c.mask_truncated_completions);
  c.importance_level = loss.choice("importance_sampling_level", c.importance_level,
                                   {{"token", ImportanceLevel::Token}, {"sequence", ImportanceLevel::Sequence}});
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

  c.eval_max_new_tokens = eval.integer("max_new_tokens", c.eval_max_new_tokens, 1);
  read_sampling(eval, c.eval_sampling, true);
  c.eval_sampling.seed = eval.seed("seed", c.eval_sampling.seed);
  eval.done();
  c.log_completions = root.integer("log_completions", c.log_completions, 0);
  root.done();
  return c;
}

GrpoConfig load_grpo_config(const std::string& path) {
  return parse_grpo_config(train::read_config_file(path, "the GRPO config"), path);
}

json training_identity(const GrpoConfig& c) {
  json j = train::trainer_identity(c);
  j.update({{"data", {{"max_prompt_length", c.max_prompt_length}}},
            {"prompts_per_step", c.prompts_per_step},
            {"num_iterations", c.num_iterations},
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
            {"reward", {{"weights", c.reward_weights.to_json()}, {"command", c.reward_command}}}});
  // Absent at the default, so runs from before the setting keep their identity (and resume).
  // These only when set otherwise than by default, so runs from before them keep their identity (and resume).
  if (const json k = c.chat_template_kwargs.to_json(); k != data::ChatTemplateKwargs{}.to_json())
    j["data"]["chat_template_kwargs"] = k;
  if (c.dynamic_sampling) {
    j["generation"]["dynamic_sampling"] = true;
    j["generation"]["max_resamples"] = c.max_resamples;
  }
  if (c.importance_level != ImportanceLevel::Token)
    j["loss"]["importance_sampling_level"] = importance_level_name(c.importance_level);
  return j;
}

json to_json(const GrpoConfig& c) {
  json j = training_identity(c);
  train::write_trainer_config(j, c);
  j["data"]["chat_template_kwargs"] = c.chat_template_kwargs.to_json();
  j["generation"]["dynamic_sampling"] = c.dynamic_sampling;
  j["generation"]["max_resamples"] = c.max_resamples;
  j["loss"]["importance_sampling_level"] = importance_level_name(c.importance_level);
  j["reward"]["timeout_s"] = c.reward_timeout_s;
  j["eval"].update({{"max_new_tokens", c.eval_max_new_tokens},
                    {"temperature", c.eval_sampling.temperature},
                    {"top_p", c.eval_sampling.top_p},
                    {"top_k", c.eval_sampling.top_k},
                    {"seed", c.eval_sampling.seed}});
  j["log_completions"] = c.log_completions;
  return j;
}

}  // namespace gt::rl
