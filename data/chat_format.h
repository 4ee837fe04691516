#pragma once
// Gemma 4 chat format (docs/chat.md): conversations rendered as the E2B chat template renders them, split into
// segments that say which text the model itself writes (the SFT loss mask), and the plan-sample rendering of
// docs/spec.md §1.2.
//
// The renderer ports the later E2B revision of the published template: `<|think|>\n` opens the system turn with
// thinking on; the generation prompt is `<|turn>model\n` (no empty thought with thinking off), nothing after
// unanswered tool calls, and an open `<|channel>thought\n` after a tool response with thinking on; reasoning is
// re-emitted only for messages after the last user message (or on tool-calling steps with preserve_thinking).
// tests/data/test_chat_format.cpp holds it byte for byte to jinja2 renders of that template
// (tests/golden/make_chat_fixtures.py). Where the template's output looks broken (a tool whose parameters have no
// `type` leaves `parameters:{` open), the port keeps it: the model saw that text.
//
// Values are printed the way Python prints them inside the template (True, None, 1e-05, 1000000000000000.0), and
// `dictsort` orders keys case-insensitively (ASCII), ties by byte order. Only text content is supported: content
// parts (images, audio) are refused.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/plan_sample.h"
#include "data/tokenizer.h"

namespace gt::data {

enum class Role { System, Developer, User, Assistant, Tool };

struct ToolCall {
  std::string name;
  // An object (rendered key:value, keys dictsorted); a string is pasted in as already-serialized arguments (outer
  // braces stripped); null renders no arguments.
  nlohmann::json arguments = nlohmann::json::object();
  std::optional<std::string> id;  // matches a Role::Tool message's tool_call_id
};

struct ToolResponse {
  std::string name;         // empty renders as "unknown", as the template does
  nlohmann::json response;  // an object renders as its keys; anything else as {value:...}
};

struct ChatMessage {
  Role role = Role::User;
  // A string, or null for none. A Role::Tool message may also hold a number or a boolean; objects and arrays are
  // refused there because the template reads them as content parts (give structured results as tool_responses).
  nlohmann::json content = nullptr;
  // The assistant's thought; the template re-emits it only after the last user message (see the file comment).
  std::string reasoning;
  std::vector<ToolCall> tool_calls;
  // Gemma's own form: results attached to the message that made the calls.
  std::vector<ToolResponse> tool_responses;
  // Role::Tool (the OpenAI form: results as messages right after the calls): which call this answers, and a
  // fallback name.
  std::optional<std::string> tool_call_id;
  std::string name;
};

struct Conversation {
  std::vector<ChatMessage> messages;
  // Function declarations: {"name", "description", "parameters": JSON schema, optional "response"}.
  std::vector<nlohmann::json> tools;
};

struct RenderOptions {
  bool enable_thinking = false;
  bool preserve_thinking = false;
  bool add_generation_prompt = true;
};

// A piece of the rendered text. Trainable pieces are what the model writes in its turns: thoughts, tool calls, the
// `<|tool_response>` it stops on after its calls, its answer and the `<turn|>` that ends it. Headers, everything
// the other roles say, tool results and the newline after `<turn|>` are not. Adjacent pieces never share a flag,
// and every boundary sits at a special token or right after a turn header's newline, so tokenizing piece by piece
// gives the ids of tokenizing the whole text.
struct Segment {
  std::string text;
  bool trainable = false;
};

// Messages as the chat APIs write them: {"role", "content", "reasoning" or "reasoning_content", "tool_calls":
// [{"id", "function": {"name", "arguments"}}] (or {"name", "arguments"} directly), "tool_responses": [{"name",
// "response"}], "tool_call_id", "name"}; tools as [{"type": "function", "function": {...}}] or bare declarations.
// Errors name the field: "messages[2].role must be one of system, developer, user, assistant, tool", with `field`
// for "messages" where the list has another name (TRL's "prompt" and "completion").
Conversation conversation_from_json(const nlohmann::json& messages, const nlohmann::json& tools = nullptr,
                                    std::string_view field = "messages");

std::vector<Segment> render_chat(const Conversation& conversation, const RenderOptions& options = {});
std::string join_segments(const std::vector<Segment>& segments);

// docs/spec.md §1.2: the system prompt, the sample's turns with the last user turn rewritten to
// "YOUR TASK IS TO GENERATE A JSON STRICTLY and CORRECTLY\n" + candidates (JSON, indent 2, keys in §1.1 order) +
// "\n\nUser Request: " + request, thinking on, and the generation prompt: one non-trainable segment. With the
// target, a trainable segment follows: "<|channel>thought\n" + thinking + "<channel|>" + plan (compact JSON, keys
// sorted) + "<turn|>". Earlier assistant turns are prompt here, so the loss covers exactly the target.
// Throws gt::Error (naming the sample's source) when the target is asked for and the sample has none.
std::vector<Segment> render_plan_sample(const PlanSample& sample, bool with_target);

// Token ids and the SFT loss mask (1 for a trainable token), tokenized segment by segment without adding special
// tokens (the text carries its own <bos>).
struct EncodedChat {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
};

enum class MaskRule { RequireTrainable, AllowEmpty };

// Throws gt::Error unless there is exactly one <bos>, at position 0 (a doubled or missing BOS degrades Gemma
// badly), and, with MaskRule::RequireTrainable, unless at least one token is trainable (a sample with an empty loss
// mask trains nothing while its loss looks fine). Messages start with `origin` when it is given.
EncodedChat encode_chat(const Tokenizer& tokenizer, const std::vector<Segment>& segments,
                        MaskRule rule = MaskRule::RequireTrainable, std::string_view origin = {});

// render_plan_sample + encode_chat; errors name the sample's source and id.
EncodedChat encode_plan_sample(const Tokenizer& tokenizer, const PlanSample& sample, bool with_target);

// The tokens that end a model turn, those of <eos>, <turn|> and <|tool_response> the tokenizer has, in that order
// ([1, 106, 50] for Gemma 4): what generation stops on and generation_config.json lists.
std::vector<int32_t> chat_stop_ids(const Tokenizer& tokenizer);

}  // namespace gt::data
