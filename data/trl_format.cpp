#include "data/trl_format.h"

#include "base/error.h"

namespace gt::data {

namespace {

using nlohmann::json;

constexpr std::string_view kBos = "<bos>";

std::string keys_of(const json& line) {
  std::string out;
  for (auto it = line.begin(); it != line.end(); ++it) out += (out.empty() ? "" : ", ") + it.key();
  return out.empty() ? "none" : out;
}

[[noreturn]] void unknown_format(const json& line, const std::string& source, LineUse use) {
  const char* expected =
      use == LineUse::Sft
          ? "id, category, candidates, messages, target (a plan sample, docs/spec.md §1.1); messages and optional "
            "tools (conversational); or prompt and completion (prompt-completion)"
          : "id, category, candidates, messages (a plan sample, docs/spec.md §1.1); or prompt, a string or a "
            "message list, with any extra columns for the reward command";
  throw Error(source + ": not a sample of a known format: it has the keys " + keys_of(line) + "; expected " + expected +
              " (docs/data.md)");
}

// The line's own chat_template_kwargs over the run's.
ChatTemplateKwargs kwargs_for(const json& line, const ChatTemplateKwargs& run) {
  auto it = line.find("chat_template_kwargs");
  if (it == line.end() || it->is_null()) return run;
  ChatTemplateKwargs own = ChatTemplateKwargs::from_json(*it, "chat_template_kwargs");
  if (!own.enable_thinking) own.enable_thinking = run.enable_thinking;
  if (!it->contains("preserve_thinking")) own.preserve_thinking = run.preserve_thinking;
  return own;
}

RenderOptions render_options(const Conversation& c, const ChatTemplateKwargs& kw, bool generation_prompt) {
  bool reasoning = false;
  for (const ChatMessage& m : c.messages) reasoning = reasoning || !m.reasoning.empty();
  return {.enable_thinking = kw.enable_thinking.value_or(reasoning),
          .preserve_thinking = kw.preserve_thinking,
          .add_generation_prompt = generation_prompt};
}

// Errors of the chat format name the field; the public functions name the line too.
template <class F>
auto at_line(const std::string& source, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

// Rendered text with the two facts TRL's masks read.
struct Piece {
  std::string text;
  bool assistant = false;   // a model turn (render_chat's trainable flag)
  bool completion = false;  // after the prompt
};

// "<bos>" alone and never trainable, then the pieces under the masks, merged where their flags agree so that text
// the masks do not split is tokenized in one go.
std::vector<Segment> masked(std::vector<Piece> pieces, const LossMasks& m, bool prompt_completion) {
  GT_CHECK(!pieces.empty() && pieces[0].text.starts_with(kBos), "a rendering must start with <bos>");
  pieces[0].text.erase(0, kBos.size());
  std::vector<Segment> out = {{std::string(kBos), false}};
  for (const Piece& p : pieces) {
    const bool trainable =
        (!prompt_completion || !m.completion_only || p.completion) && (!m.assistant_only || p.assistant);
    if (p.text.empty()) continue;
    if (out.size() > 1 && out.back().trainable == trainable)
      out.back().text += p.text;
    else
      out.push_back({p.text, trainable});
  }
  return out;
}

std::vector<Piece> pieces_of(const std::vector<Segment>& segments, bool completion) {
  std::vector<Piece> out;
  for (const Segment& s : segments) out.push_back({s.text, s.trainable, completion});
  return out;
}

std::vector<Piece> conversational_prompt_completion(const json& line, const ChatTemplateKwargs& kw) {
  const json& tools = line.contains("tools") ? line["tools"] : json(nullptr);
  const Conversation prompt = conversation_from_json(line["prompt"], tools, "prompt");
  Conversation all = prompt;
  const Conversation completion = conversation_from_json(line["completion"], nullptr, "completion");
  all.messages.insert(all.messages.end(), completion.messages.begin(), completion.messages.end());
  const RenderOptions full_options = render_options(all, kw, false);
  RenderOptions prompt_options = full_options;
  prompt_options.add_generation_prompt = true;
  const std::string head = join_segments(render_chat(prompt, prompt_options));
  const std::vector<Segment> full = render_chat(all, full_options);
  // As TRL: the completion is what the whole conversation adds to the prompt rendered with its generation prompt.
  if (join_segments(full).compare(0, head.size(), head) != 0)
    throw Error(
        "the prompt rendered with its generation prompt is not the start of prompt + completion "
        "rendered together, so the completion cannot be told apart (docs/data.md)");
  std::vector<Piece> out;
  std::size_t at = 0;
  for (const Segment& s : full) {
    const std::size_t end = at + s.text.size();
    if (end <= head.size()) {
      out.push_back({s.text, s.trainable, false});
    } else if (at >= head.size()) {
      out.push_back({s.text, s.trainable, true});
    } else {
      out.push_back({s.text.substr(0, head.size() - at), s.trainable, false});
      out.push_back({s.text.substr(head.size() - at), s.trainable, true});
    }
    at = end;
  }
  return out;
}

std::vector<Segment> sft_line(const json& line, LineFormat format, const LossMasks& masks,
                              const ChatTemplateKwargs& run_kwargs) {
  const ChatTemplateKwargs kw = kwargs_for(line, run_kwargs);
  if (format == LineFormat::Conversational) {
    const json& tools = line.contains("tools") ? line["tools"] : json(nullptr);
    const Conversation c = conversation_from_json(line["messages"], tools);
    return masked(pieces_of(render_chat(c, render_options(c, kw, false)), true), masks, false);
  }
  GT_CHECK(format == LineFormat::PromptCompletion, "not a line SFT renders");
  const json& prompt = line["prompt"];
  const json& completion = line["completion"];
  if (prompt.is_array() && completion.is_array())
    return masked(conversational_prompt_completion(line, kw), masks, true);
  if (!prompt.is_string() || !completion.is_string())
    throw Error(
        "prompt and completion must both be strings (standard) or both message lists "
        "(conversational); got " +
        std::string(prompt.type_name()) + " and " + completion.type_name());
  if (masks.assistant_only)
    throw Error(
        "assistant_only_loss needs conversational data (messages, or prompt and completion as "
        "message lists); a string prompt-completion line has no assistant turns");
  std::string tail = completion.get<std::string>();
  if (!tail.ends_with("<eos>")) tail += "<eos>";
  return masked({{std::string(kBos) + prompt.get<std::string>(), false, false}, {tail, false, true}}, masks, true);
}

std::vector<Segment> prompt_line(const json& line, const ChatTemplateKwargs& kwargs) {
  const ChatTemplateKwargs kw = kwargs_for(line, kwargs);
  const json& prompt = line["prompt"];
  if (prompt.is_string()) return {{std::string(kBos) + prompt.get<std::string>(), false}};
  if (!prompt.is_array())
    throw Error("prompt must be a string or a message list, got " + std::string(prompt.type_name()));
  const json& tools = line.contains("tools") ? line["tools"] : json(nullptr);
  const Conversation c = conversation_from_json(prompt, tools, "prompt");
  return {{join_segments(render_chat(c, render_options(c, kw, true))), false}};
}

}  // namespace

LineFormat line_format(const json& line, const std::string& source, LineUse use) {
  if (!line.is_object()) throw Error(source + ": a sample must be a JSON object");
  // Any key only a plan sample has makes it one, so a plan sample missing a field is an error about that field,
  // not a conversation.
  for (const char* key : {"candidates", "category", "target"})
    if (line.contains(key)) return LineFormat::Plan;
  if (use == LineUse::Sft) {
    if (line.contains("messages")) return LineFormat::Conversational;
    if (line.contains("prompt") && line.contains("completion")) return LineFormat::PromptCompletion;
  } else if (line.contains("prompt")) {
    return LineFormat::Prompt;
  }
  unknown_format(line, source, use);
}

ChatTemplateKwargs ChatTemplateKwargs::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + " must be an object, got " + j.dump());
  ChatTemplateKwargs k;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "enable_thinking" && it.key() != "preserve_thinking")
      throw Error(where + ": unknown key '" + it.key() +
                  "' (the Gemma 4 template reads enable_thinking and "
                  "preserve_thinking)");
    if (!it->is_boolean() && !(it->is_null() && it.key() == "enable_thinking"))
      throw Error(where + ": '" + it.key() + "' must be a boolean, got " + it->dump());
    if (it.key() == "preserve_thinking")
      k.preserve_thinking = it->get<bool>();
    else if (it->is_boolean())
      k.enable_thinking = it->get<bool>();
  }
  return k;
}

json ChatTemplateKwargs::to_json() const {
  return {{"enable_thinking", enable_thinking ? json(*enable_thinking) : json(nullptr)},
          {"preserve_thinking", preserve_thinking}};
}

std::vector<Segment> render_sft_line(const json& line, LineFormat format, const std::string& source,
                                     const LineRendering& r) {
  return at_line(source, [&] { return sft_line(line, format, r.masks, r.chat_template_kwargs); });
}

std::vector<Segment> render_prompt_line(const json& line, const std::string& source, const ChatTemplateKwargs& kwargs) {
  return at_line(source, [&] { return prompt_line(line, kwargs); });
}

std::string line_id(const json& line, const std::string& source) {
  auto it = line.find("id");
  return it != line.end() && it->is_string() ? it->get<std::string>() : source;
}

}  // namespace gt::data
