// `gemma-tune chat-render`: a sample or a conversation as the model sees it, with the loss-masked (trainable) text
// marked, so a misspelled thought channel or an empty target shows before training (docs/pitfalls.md item 6). With a
// tokenizer it lists the tokens and their mask flags, and refuses a sample without exactly one <bos> or with an
// empty loss mask, as training does.
#include <cstdio>
#include <iostream>
#include <memory>

#include "base/json_file.h"
#include "cli/command.h"
#include "data/chat_format.h"
#include "data/plan_sample.h"
#include "data/tokenizer.h"

namespace {

constexpr std::string_view kOpen = "⟦", kClose = "⟧";

struct Options {
  std::string sample, chat, tokenizer;
  bool no_target = false;
};

std::vector<gt::data::Segment> segments_of(const Options& o) {
  if (!o.sample.empty()) return gt::data::render_plan_sample(gt::data::read_sample(o.sample), !o.no_target);
  nlohmann::json j = gt::read_json_file(o.chat);
  if (!j.is_object() || !j.contains("messages")) throw gt::Error(o.chat + ": expected an object with \"messages\"");
  gt::data::RenderOptions r{j.value("enable_thinking", false), j.value("preserve_thinking", false),
                            j.value("add_generation_prompt", true)};
  return gt::data::render_chat(gt::data::conversation_from_json(j["messages"], j.value("tools", nlohmann::json())), r);
}

void print_text(const std::vector<gt::data::Segment>& segments) {
  std::size_t total = 0, trainable = 0;
  for (const auto& s : segments) {
    total += s.text.size();
    if (s.trainable) trainable += s.text.size();
    std::cout << (s.trainable ? kOpen : "") << s.text << (s.trainable ? kClose : "");
  }
  std::cout << "\n";
  std::cerr << "-- " << total << " bytes, " << trainable << " trainable\n";
}

void print_tokens(const Options& o, const std::vector<gt::data::Segment>& segments) {
  auto tok = gt::data::Tokenizer::from_file(o.tokenizer);
  if (!tok.token_to_id("<|turn>"))
    throw gt::Error(o.tokenizer +
                    " has no <|turn> token: not a Gemma 4 tokenizer (`gemma-tune tokenizer "
                    "gemma4-from-gemma3` makes one from Gemma 3's)");
  // A sample with a target must train something; a prompt or a conversation may not.
  auto rule = !o.sample.empty() && !o.no_target ? gt::data::MaskRule::RequireTrainable : gt::data::MaskRule::AllowEmpty;
  gt::data::EncodedChat e = gt::data::encode_chat(tok, segments, rule, o.sample.empty() ? o.chat : o.sample);
  std::size_t trainable = 0;
  std::cout << "  pos      id  loss  token\n";
  for (std::size_t i = 0; i < e.ids.size(); ++i) {
    trainable += e.mask[i];
    char head[48];
    std::snprintf(head, sizeof head, "%5zu  %6d  %4s  ", i, e.ids[i], e.mask[i] ? "1" : ".");
    std::cout << head << nlohmann::json(std::string(*tok.id_to_token(e.ids[i]))).dump() << "\n";
  }
  std::cerr << "-- " << e.ids.size() << " tokens, " << trainable << " trainable\n";
}

gt::cli::Registrar reg("chat-render", [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("chat-render",
                                 "Show the rendered chat text with the trainable (loss) spans marked ⟦like this⟧, or "
                                 "its tokens with their loss mask");
  auto* input = sub->add_option_group("input", "What to render (one of)");
  auto* sample = input->add_option("--sample", o->sample, "A plan sample (one JSON object), rendered as for SFT");
  input->add_option("--chat", o->chat,
                    "A conversation: {\"messages\": [...], \"tools\": [...], \"enable_thinking\": bool, "
                    "\"preserve_thinking\": bool, \"add_generation_prompt\": bool}");
  input->require_option(1);
  sub->add_flag("--no-target", o->no_target, "Render a sample's prompt only, as for generation")->needs(sample);
  sub->add_option("--tokenizer", o->tokenizer, "A Gemma 4 tokenizer.json: list tokens with their loss mask instead")
      ->check(CLI::ExistingFile);
  gt::cli::set_job(sub, [o] {
    auto segments = segments_of(*o);
    if (o->tokenizer.empty())
      print_text(segments);
    else
      print_tokens(*o, segments);
    return 0;
  });
});

}  // namespace
