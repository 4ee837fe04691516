// render_chat against the Hub's Gemma 4 E2B chat_template.jinja rendered by @huggingface/jinja (npm), on the 20
// conversations of tests/fixtures/chat/jinja_conversations.json (tools, thinking, multi-turn, generation prompts).
//
// The template is under the Gemma licence and no npm package ships it, so nothing fetches it: set
// GT_GEMMA4_CHAT_TEMPLATE to a copy of google/gemma-4-E2B-it's chat_template.jinja, the revision whose sha256
// tests/fixtures/chat/golden.json records (docs/chat.md §5: the renderer follows that revision). Without it the test
// skips and says so. scripts/fetch_hf_jinja.sh fetches @huggingface/jinja (sha256-checked, cached outside the repo);
// when the registry cannot be reached the test skips and says so.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "base/json_file.h"
#include "data/chat_format.h"
#include "support/chat_golden.h"
#include "support/files.h"

using namespace gt;
using namespace gt::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = fs::path(GT_FIXTURES).parent_path().parent_path();

std::string shell_word(const fs::path& p) { return "'" + p.string() + "'"; }

std::string last_line(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

}  // namespace

TEST(ChatJinja, RenderChatEqualsTheHubTemplateRenderedByHuggingfaceJinja) {
  const char* env = std::getenv("GT_GEMMA4_CHAT_TEMPLATE");
  if (!env || !*env)
    GTEST_SKIP() << "SKIPPED, NOT PASSED: set GT_GEMMA4_CHAT_TEMPLATE to google/gemma-4-E2B-it's chat_template.jinja "
                    "(under the Gemma licence: no npm package ships it and the repository must not)";
  const fs::path tpl = env;
  const CommandResult sum = run_command("sha256sum " + shell_word(tpl));
  ASSERT_EQ(sum.rc, 0) << sum.output;
  EXPECT_EQ(sum.output.substr(0, 64), chat_golden()["template_sha256"].get<std::string>())
      << tpl << " is not the template revision the renderer follows (docs/chat.md §5)";

  const CommandResult fetch = run_command(shell_word(kRepo / "scripts" / "fetch_hf_jinja.sh"));
  if (fetch.rc != 0) GTEST_SKIP() << "SKIPPED, NOT PASSED: @huggingface/jinja could not be fetched:\n" << fetch.output;
  TempDir dir;
  const fs::path input = fs::path(GT_FIXTURES) / "chat" / "jinja_conversations.json";
  const fs::path out = dir.path / "renders.json";
  const CommandResult node =
      run_command("node " + shell_word(kRepo / "tests" / "golden" / "render_chat_template.mjs") + " " +
                  shell_word(last_line(fetch.output)) + " " + shell_word(tpl) + " " + shell_word(input) + " > " + shell_word(out));
  ASSERT_EQ(node.rc, 0) << node.output;

  const json renders = read_json_file(out);
  const json all = read_json_file(input);
  const json& conversations = all["conversations"];
  ASSERT_EQ(conversations.size(), 20u);
  ASSERT_EQ(renders.size(), conversations.size());
  for (std::size_t i = 0; i < conversations.size(); ++i) {
    const json& c = conversations[i];
    const data::Conversation conv = data::conversation_from_json(c["messages"], c.value("tools", json(nullptr)));
    const data::RenderOptions o{.enable_thinking = c.value("enable_thinking", false),
                                .add_generation_prompt = c["add_generation_prompt"].get<bool>()};
    EXPECT_EQ(data::join_segments(data::render_chat(conv, o)), renders[i].get<std::string>()) << c["name"];
  }
}

// Runs without the template: every conversation of the input reads and renders (so the file stays valid input).
TEST(ChatJinja, TheTwentyConversationsRender) {
  const json all = read_json_file(fs::path(GT_FIXTURES) / "chat" / "jinja_conversations.json");
  const json& conversations = all["conversations"];
  ASSERT_EQ(conversations.size(), 20u);
  for (const json& c : conversations) {
    const data::Conversation conv = data::conversation_from_json(c["messages"], c.value("tools", json(nullptr)));
    EXPECT_TRUE(data::join_segments(data::render_chat(conv)).starts_with("<bos>")) << c["name"];
  }
}
