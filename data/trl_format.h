#pragma once
// TRL's dataset formats beside the plan samples of docs/spec.md §1.1 (docs/data.md): each JSON Lines line is told
// apart by its keys and rendered with the Gemma 4 chat format (chat_format.h) into segments whose trainable flag is
// the loss mask TRL's SFTTrainer would use (completion_only_loss, assistant_only_loss).
//
// Every rendering starts with "<bos>" as a segment of its own that is never trainable: nothing predicts the first
// token, so "loss on every token" means every token after it, as TRL's shifted labels do.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/chat_format.h"

namespace gt::data {

enum class LineFormat {
  Plan,              // has "candidates", "category" or "target": a §1.1 plan sample
  Conversational,    // "messages" (and optional "tools")
  PromptCompletion,  // "prompt" and "completion": both strings, or both message lists
  Prompt,            // "prompt" alone (GRPO): a string or a message list, beside any extra columns
};

enum class LineUse { Sft, Prompts };

// The format of one line, from its keys. A line that fits none of the formats `use` takes throws gt::Error naming
// `source` (file:line), the keys it has and the ones each format expects.
LineFormat line_format(const nlohmann::json& line, const std::string& source, LineUse use);

// transformers' chat_template_kwargs that the Gemma 4 template reads.
struct ChatTemplateKwargs {
  // Unset: on for a line where some message carries reasoning (the template's own default is off; a thought
  // trained without `<|think|>` in the system turn would teach the model to think when not asked to).
  std::optional<bool> enable_thinking;
  bool preserve_thinking = false;

  // {"enable_thinking": bool, "preserve_thinking": bool}; another key or type throws naming `where`.
  static ChatTemplateKwargs from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;  // enable_thinking null when unset
};

// TRL's SFTConfig loss masks (docs/data.md has the table).
struct LossMasks {
  bool completion_only = true;  // prompt-completion lines: loss on the completion's tokens only
  bool assistant_only = false;  // message lines: loss on the model's turns only (Segment::trainable of render_chat)
};

// How a run renders and masks its TRL-format lines (plan samples always train on exactly their target, §1.2).
struct LineRendering {
  LossMasks masks;
  ChatTemplateKwargs chat_template_kwargs;
};

// A conversational or prompt-completion line for SFT. A line's own "chat_template_kwargs" object overrides the
// run's key by key. Standard prompt-completion is "<bos>" + prompt + completion + "<eos>" (unless the completion
// already ends with it), with no chat template, as TRL does. Errors name `source`.
std::vector<Segment> render_sft_line(const nlohmann::json& line, LineFormat format, const std::string& source,
                                     const LineRendering& rendering);

// A GRPO prompt line as generation starts from it: message lists with the generation prompt, a string as
// "<bos>" + text (TRL applies no template to a standard prompt). Nothing is trainable.
std::vector<Segment> render_prompt_line(const nlohmann::json& line, const std::string& source,
                                        const ChatTemplateKwargs& kwargs);

// How logs name a line: its "id" column when that is a string, else `source`.
std::string line_id(const nlohmann::json& line, const std::string& source);

}  // namespace gt::data
