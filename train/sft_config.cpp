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
  Section root = Section::with_hf_names(j, path);
  auto [data, eval] = read_trainer_config(root, c, {.lr = 2e-5});
  c.max_length = data.integer("max_length", c.max_length, 2);
  c.truncation = data.choice(
      "truncation", c.truncation,
      {{"prompt_left", Truncation::PromptLeft}, {"keep_start", Truncation::KeepStart}, {"drop", Truncation::Drop}});
  c.rendering.masks.completion_only = data.boolean("completion_only_loss", c.rendering.masks.completion_only);
  c.rendering.masks.assistant_only = data.boolean("assistant_only_loss", c.rendering.masks.assistant_only);
  c.rendering.chat_template_kwargs = read_chat_template_kwargs(data);
  data.done();
  eval.done();
  c.grad_accumulation = root.integer("grad_accumulation", c.grad_accumulation, 1);
  c.packing = root.boolean("packing", c.packing);
  if (const json* v = root.find("packing_strategy"); v && *v != "bfd")
    root.bad("packing_strategy", "must be \"bfd\" (best-fit decreasing, which never cuts a sample), got " +
                                     v->dump() + (*v == "wrapped" ? ": \"wrapped\" cuts samples across sequences" : ""));
  root.done();
  return c;
}

SftConfig load_sft_config(const std::string& path) {
  return parse_sft_config(read_config_file(path, "the SFT config"), path);
}

namespace {

json rendering_json(const data::LineRendering& r) {
  return {{"completion_only_loss", r.masks.completion_only},
          {"assistant_only_loss", r.masks.assistant_only},
          {"chat_template_kwargs", r.chat_template_kwargs.to_json()}};
}

}  // namespace

json training_identity(const SftConfig& c) {
  json j = trainer_identity(c);
  j["data"] = {{"max_length", c.max_length}, {"truncation", truncation_name(c.truncation)}};
  // Only when set otherwise than by default: runs from before these settings keep their identity (and resume).
  if (const json r = rendering_json(c.rendering); r != rendering_json({})) j["data"].update(r);
  j["grad_accumulation"] = c.grad_accumulation;
  // Only when on: the identities (and checkpoint hashes) of unpacked runs stay what they were.
  if (c.packing) j["packing"] = {{"strategy", "bfd"}};
  return j;
}

json to_json(const SftConfig& c) {
  json j = training_identity(c);
  j["data"].update(rendering_json(c.rendering));
  write_trainer_config(j, c);
  j["packing"] = c.packing;
  if (c.packing) j["packing_strategy"] = "bfd";
  return j;
}

}  // namespace gt::train
