// `gemma-tune chat-render`: a sample or a conversation as the model sees it, with the loss-masked (trainable) text
// marked, so a misspelled thought channel or an empty target shows before training (traps.md item 6).
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "data/chat_format.h"
#include "data/io.h"
#include "data/plan_sample.h"

namespace {

constexpr std::string_view kOpen = "⟦", kClose = "⟧";

struct Options {
  std::string sample, chat;
  bool no_target = false;
};

std::vector<gt::data::Segment> segments_of(const Options& o) {
  if (!o.sample.empty()) return gt::data::render_plan_sample(gt::data::read_sample(o.sample), !o.no_target);
  nlohmann::json j = gt::data::read_json_file(o.chat);
  if (!j.is_object() || !j.contains("messages"))
    throw gt::data::DataError(o.chat + ": expected an object with \"messages\"");
  gt::data::RenderOptions r{j.value("enable_thinking", false), j.value("preserve_thinking", false),
                            j.value("add_generation_prompt", true)};
  return gt::data::render_chat(gt::data::conversation_from_json(j["messages"], j.value("tools", nlohmann::json())), r);
}

gt::cli::Registrar reg("chat-render", [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("chat-render",
                                 "Show the rendered chat text; the trainable (loss) spans are marked ⟦like this⟧");
  auto* input = sub->add_option_group("input", "What to render (one of)");
  auto* sample = input->add_option("--sample", o->sample, "A plan sample (one JSON object), rendered as for SFT");
  input->add_option("--chat", o->chat,
                    "A conversation: {\"messages\": [...], \"tools\": [...], \"enable_thinking\": bool, "
                    "\"preserve_thinking\": bool, \"add_generation_prompt\": bool}");
  input->require_option(1);
  sub->add_flag("--no-target", o->no_target, "Render a sample's prompt only, as for generation")->needs(sample);
  gt::cli::set_job(sub, [o] {
    std::size_t total = 0, trainable = 0;
    for (const auto& s : segments_of(*o)) {
      total += s.text.size();
      if (s.trainable) {
        trainable += s.text.size();
        std::cout << kOpen << s.text << kClose;
      } else {
        std::cout << s.text;
      }
    }
    std::cout << "\n";
    std::cerr << "-- " << total << " bytes, " << trainable << " trainable\n";
    return 0;
  });
});

}  // namespace
