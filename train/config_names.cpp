#include "train/config_names.h"

#include <cmath>
#include <iomanip>

namespace gt::train {

using nlohmann::json;

namespace {

// TrainingArguments' num_train_epochs is a float; ours counts whole epochs.
json whole_number(const json& v, std::string& why) {
  if (v.is_number_float() && std::isfinite(v.get<double>()) && v.get<double>() == std::floor(v.get<double>()) &&
      std::abs(v.get<double>()) < 1e15)
    return static_cast<int64_t>(v.get<double>());
  if (v.is_number_float()) why = "must be a whole number (a fraction of an epoch is not supported), got " + v.dump();
  return v;
}

// max_steps -1 (TrainingArguments' default) means no limit, which is our 0.
json max_steps(const json& v, std::string&) { return v.is_number_integer() && v.get<int64_t>() == -1 ? json(0) : v; }

// constant and constant_with_warmup are our "none" (a constant lr, after the warmup when warmup_steps > 0).
json schedule_name(const json& v, std::string& why) {
  if (v == "constant" || v == "constant_with_warmup") return "none";
  if (v.is_string() && v != "linear" && v != "cosine")
    why = "must be one of linear, cosine, constant, constant_with_warmup, got " + v.dump();
  return v;
}

json optimizer_name(const json& v, std::string& why) {
  if (v == "adamw_torch" || v == "adamw_torch_fused" || v == "adamw_hf") return "adamw";
  if (v.is_string() && v != "adafactor")
    why = "must be one of adamw_torch, adamw_torch_fused, adamw_hf, adafactor, got " + v.dump();
  return v;
}

json truncation_mode(const json& v, std::string& why) {
  if (v.is_string() && v != "keep_start")
    why = "must be keep_start (keep_end is not supported; data.truncation also takes prompt_left and drop), got " +
          v.dump();
  return v;
}

// GRPOConfig's older boolean scale_rewards: true scales by the group's std, false not at all.
json scale_rewards(const json& v, std::string&) {
  if (v.is_boolean()) return v.get<bool>() ? "group" : "none";
  return v;
}

// TRL's None for completion_only_loss means true for prompt-completion data, the only data it applies to.
json null_is_true(const json& v, std::string&) { return v.is_null() ? json(true) : v; }

// TRL's None (no limit, no top-k, keep every checkpoint) is our 0.
json null_is_zero(const json& v, std::string&) { return v.is_null() ? json(0) : v; }

const std::vector<KeyName> kNames = {
    {"learning_rate", "optimizer.lr", "HF", "2e-5", "1e-6"},
    {"per_device_train_batch_size", "batch_size", "HF", "8", "8", nullptr,
     "a step takes batch_size samples (SFT) or completions (GRPO) on our one device"},
    {"gradient_accumulation_steps", "grad_accumulation", "HF", "1", nullptr},
    {"num_train_epochs", "epochs", "HF", "3", "3", whole_number},
    {"max_steps", "max_steps", "HF", "-1", "-1", max_steps, "-1 and 0 both mean no limit"},
    {"max_grad_norm", "grad_clip", "HF", "1.0", "1.0", nullptr, "0 turns clipping off; ours is off unless set"},
    {"warmup_steps", "schedule.warmup_steps", "HF", "0", "0"},
    {"warmup_ratio", "schedule.warmup_ratio", "HF", "0.0", "0.0", nullptr,
     "the warmup is ceil(warmup_ratio x the run's steps); giving both is an error here"},
    {"lr_scheduler_type", "schedule.name", "HF", "\"linear\"", "\"linear\"", schedule_name,
     "constant and constant_with_warmup are our none"},
    {"optim", "optimizer.name", "HF", "\"adamw_torch\"", "\"adamw_torch\"", optimizer_name,
     "ours is Adafactor (docs/spec.md §5); adamw_torch is our adamw"},
    {"weight_decay", "optimizer.weight_decay", "HF", "0.0", "0.0", nullptr,
     "ours decays every parameter (HF leaves biases and norm weights out); our AdamW's default is 0.01"},
    {"adam_beta1", "optimizer.beta1", "HF", "0.9", "0.9", nullptr, "AdamW only"},
    {"adam_beta2", "optimizer.beta2", "HF", "0.999", "0.999", nullptr, "AdamW only"},
    {"adam_epsilon", "optimizer.eps", "HF", "1e-8", "1e-8", nullptr, "AdamW only"},
    {"seed", "seed", "HF", "42", "42"},
    {"output_dir", "out_dir", "HF", "\"trainer_output\"", "\"trainer_output\"", nullptr, "required here"},
    {"save_steps", "checkpoint.every", "HF", "500", "500", nullptr, "0 saves only at the end"},
    {"save_total_limit", "checkpoint.keep_last", "HF", "null", "null", null_is_zero, "0 (or null) keeps all"},
    {"eval_steps", "eval.every", "HF", "null", "null", null_is_zero, "0 evaluates at the start and the end only"},
    {"gradient_checkpointing", "checkpoint_layers", "HF", "false", "false"},
    {"max_length", "data.max_length", "TRL", "1024", nullptr},
    {"truncation_mode", "data.truncation", "TRL", "\"keep_start\"", nullptr, truncation_mode,
     "ours also has prompt_left (the default) and drop"},
    {"packing", "packing", "TRL", "false", nullptr, nullptr, "whole samples only (best-fit decreasing)"},
    {"packing_strategy", "packing_strategy", "TRL", "\"bfd\"", nullptr, nullptr,
     "bfd only; wrapped (which cuts samples) is refused"},
    {"completion_only_loss", "data.completion_only_loss", "TRL", "null", nullptr, null_is_true,
     "null is true: prompt-completion lines train on the completion only"},
    {"assistant_only_loss", "data.assistant_only_loss", "TRL", "false", nullptr},
    {"chat_template_kwargs", "data.chat_template_kwargs", "TRL", "null", "null", nullptr,
     "an unset enable_thinking is on for lines whose messages carry reasoning (the template's default is off)"},
    {"max_prompt_length", "data.max_prompt_length", "TRL", nullptr, "512", nullptr,
     "longer prompts are left out (and counted), not cut"},
    {"num_generations", "generation.num_generations", "TRL", nullptr, "8"},
    {"max_completion_length", "generation.max_completion_length", "TRL", nullptr, "256"},
    {"temperature", "generation.temperature", "TRL", nullptr, "1.0"},
    {"top_p", "generation.top_p", "TRL", nullptr, "1.0"},
    {"top_k", "generation.top_k", "TRL", nullptr, "null", null_is_zero, "0 (or null) is off"},
    {"num_iterations", "num_iterations", "TRL", nullptr, "1"},
    {"beta", "loss.beta", "TRL", nullptr, "0.0"},
    {"epsilon", "loss.epsilon_low", "TRL", nullptr, "0.2"},
    {"loss.epsilon", "loss.epsilon_low", "TRL", nullptr, "0.2"},
    {"epsilon_high", "loss.epsilon_high", "TRL", nullptr, "null", nullptr,
     "TRL's unset epsilon_high is epsilon; ours too when epsilon is given by that name, else 0.2"},
    {"loss_type", "loss.type", "TRL", nullptr, "\"dapo\""},
    {"scale_rewards", "loss.scale_rewards", "TRL", nullptr, "\"group\"", scale_rewards,
     "true is group, false is none"},
    {"mask_truncated_completions", "loss.mask_truncated_completions", "TRL", nullptr, "false"},
    {"importance_sampling_level", "loss.importance_sampling_level", "TRL", nullptr, "\"token\""},
    {"logging_steps", nullptr, "HF", "10", "10", nullptr,
     "every step is logged to metrics.jsonl; progress_every_s sets how often stderr shows progress"},
    {"generation_batch_size", nullptr, "TRL", nullptr, "null", nullptr,
     "a generation batch is prompts_per_step x num_generations completions"},
    {"bf16", nullptr, "HF", "false", "false", nullptr,
     "there is no mixed-precision autocast; model.storage \"bf16\" stores the weights in bf16"},
};

void flatten(const json& j, const std::string& prefix, std::vector<std::pair<std::string, json>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    // The reward weights and the chat template's arguments are one setting each, not one per key.
    if (it->is_object() && key != "reward.weights" && key != "data.chat_template_kwargs")
      flatten(*it, key, out);
    else
      out.emplace_back(key, *it);
  }
}

}  // namespace

const std::vector<KeyName>& key_names() { return kNames; }

void print_settings(std::ostream& os, const json& effective, TrainerKind t) {
  std::vector<std::pair<std::string, json>> settings;
  flatten(effective, "", settings);
  for (const auto& [key, value] : settings) {
    os << "  " << key << " = " << value.dump();
    for (const KeyName& k : kNames) {
      const char* theirs = t == TrainerKind::Sft ? k.sft_default : k.grpo_default;
      if (!k.ours || key != k.ours || !theirs || std::string(k.hf).find('.') != std::string::npos) continue;
      const json their_value = json::parse(theirs);
      if (k.convert) {
        std::string why;
        if (k.convert(their_value, why) == value) continue;
      } else if (their_value == value) {
        continue;
      }
      os << "   [" << k.hf << ": " << k.origin << " default " << theirs << (*k.note ? "; " : "") << k.note << "]";
    }
    os << "\n";
  }
}

}  // namespace gt::train
