#include "data/gemma4_tokenizer.h"

#include <nlohmann/json.hpp>

#include <set>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "data/tokenizer.h"

namespace gt::data {

namespace {
constexpr TokenRename kRenames[] = {
    {46, "<|tool>", "<unused40>"},
    {47, "<tool|>", "<unused41>"},
    {48, "<|tool_call>", "<unused42>"},
    {49, "<tool_call|>", "<unused43>"},
    {50, "<|tool_response>", "<unused44>"},
    {51, "<tool_response|>", "<unused45>"},
    {52, "<|\"|>", "<unused46>"},
    {98, "<|think|>", "<unused92>"},
    {100, "<|channel>", "<unused94>"},
    {101, "<channel|>", "<unused95>"},
    {105, "<|turn>", "<start_of_turn>"},
    {106, "<turn|>", "<end_of_turn>"},
    {255999, "<|image>", "<start_of_image>"},
    {256000, "<|audio>", "<end_of_image>"},
    {258880, "<|image|>", "<unused2978>"},
    {258881, "<|audio|>", "<unused2979>"},
    {258882, "<image|>", "<unused2980>"},
    {258883, "<audio|>", "<unused2981>"},
    {258884, "<|video|>", "<unused2982>"},
};
}  // namespace

std::span<const TokenRename> gemma4_token_renames() { return kRenames; }

std::string gemma4_tokenizer_json_from_gemma3(std::string_view gemma3_json, std::string_view origin) {
  auto fail = [&](const std::string& msg) { throw Error(std::string(origin) + ": " + msg); };
  nlohmann::json j = parse_json(gemma3_json, origin);
  if (!j.contains("model") || !j["model"].contains("vocab") || !j["model"]["vocab"].is_object() ||
      !j.contains("added_tokens") || !j["added_tokens"].is_array())
    fail("not a tokenizer.json with model.vocab and added_tokens");
  nlohmann::json& vocab = j["model"]["vocab"];
  for (const TokenRename& r : kRenames) {
    std::string old_name(r.gemma3), new_name(r.gemma4);
    auto it = vocab.find(old_name);
    if (it == vocab.end() || !it->is_number_integer() || it->get<int32_t>() != r.id)
      fail("not a Gemma 3 tokenizer: model.vocab has no \"" + old_name + "\" with id " + std::to_string(r.id));
    if (vocab.contains(new_name)) fail("model.vocab already has \"" + new_name + "\"");
    vocab.erase(it);
    vocab[new_name] = r.id;
    bool found = false;
    for (nlohmann::json& a : j["added_tokens"]) {
      if (!a.is_object() || a.value("id", -1) != r.id) continue;
      if (a.value("content", "") != old_name) fail("added_tokens: id " + std::to_string(r.id) + " is not \"" + old_name + "\"");
      a["content"] = new_name;
      // Gemma 4 registers all of these as named special tokens of its tokenizer (docs/chat.md §1); Gemma 3 marked
      // the <unusedN> slots as ordinary added tokens.
      a["special"] = true;
      found = true;
    }
    if (!found) fail("added_tokens has no entry with id " + std::to_string(r.id));
  }
  // The old names must not live on inside merges (they do not in the Gemma 3 release).
  std::set<std::string, std::less<>> old_names;
  for (const TokenRename& r : kRenames) old_names.emplace(r.gemma3);
  auto check = [&](std::string_view part) {
    if (old_names.count(part)) fail("model.merges uses \"" + std::string(part) + "\"; renaming it would break them");
  };
  const nlohmann::json& model = j["model"];
  auto merges = model.find("merges");
  static const nlohmann::json none = nlohmann::json::array();
  for (const nlohmann::json& m : merges == model.end() ? none : *merges) {
    if (m.is_string()) {
      std::string_view s = m.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      check(s.substr(0, sp));
      if (sp != std::string_view::npos) check(s.substr(sp + 1));
    } else if (m.is_array()) {
      for (const nlohmann::json& part : m)
        if (part.is_string()) check(part.get_ref<const std::string&>());
    }
  }
  return j.dump(2);
}

void write_gemma4_tokenizer_from_gemma3(const std::filesystem::path& in, const std::filesystem::path& out) {
  write_file_atomically(out, gemma4_tokenizer_json_from_gemma3(read_text_file(in), in.string()));
}

}  // namespace gt::data
