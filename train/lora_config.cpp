#include "train/lora_config.h"

#include "base/error.h"
#include "train/checkpoint.h"

namespace gt::train {

using nlohmann::json;

LoraConfig read_lora_section(Section& lora) {
  LoraConfig c;
  c.r = lora.integer("r", c.r, 1);
  c.lora_alpha = lora.number("lora_alpha", c.lora_alpha);
  c.lora_dropout = lora.number("lora_dropout", c.lora_dropout);
  c.use_rslora = lora.boolean("use_rslora", c.use_rslora);
  if (const json* t = lora.find("target_modules"))
    set_lora_targets(c, *t, lora.file() + ": '" + lora.name("target_modules") + "'");
  c.check(lora.file());
  return c;
}

json lora_json(const LoraConfig& c) {
  return {{"r", c.r},
          {"lora_alpha", c.lora_alpha},
          {"lora_dropout", c.lora_dropout},
          {"use_rslora", c.use_rslora},
          {"target_modules", c.targets_json()}};
}

void export_adapter(const Gemma4& model, const std::string& dir, const std::string& base_model) {
  GT_CHECK(model.adapter(), "export_adapter(", dir, "): the model has no adapter");
  replace_dir_atomically(dir, [&](const std::string& tmp) {
    model.adapter()->save(tmp, text_prefix(model.config()), base_model);
  });
}

}  // namespace gt::train
