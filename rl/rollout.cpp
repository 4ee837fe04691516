#include "rl/rollout.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/checksum.h"
#include "base/error.h"
#include "base/json_file.h"
#include "data/chat_format.h"
#include "model/generate.h"

namespace gt::rl {

using nlohmann::json;

json PromptSet::report(const std::string& file) const {
  return {{"file", file},
          {"read", read},
          {"kept", static_cast<int64_t>(samples.size())},
          {"dropped_too_long", dropped_too_long},
          {"prompt_tokens", tokens},
          {"longest_prompt", longest}};
}

namespace {

// One line: its prompt ids, its record, and its gold plan when need_gold (and the prompt fits).
struct ReadPrompt {
  data::EncodedChat encoded;
  PromptRecord record;
  std::optional<Reference> ref;
};

ReadPrompt read_prompt(const json& line, const std::string& source, const data::Tokenizer& tokenizer,
                       int64_t max_prompt_length, bool need_gold, const data::ChatTemplateKwargs& kwargs) {
  ReadPrompt p;
  if (data::line_format(line, source, data::LineUse::Prompts) == data::LineFormat::Plan) {
    const data::PlanSample s = data::sample_from_json(line, source);
    p.encoded = data::encode_plan_sample(tokenizer, s, false);
    p.record = {s.id, source, data::to_json(s)};
    // A gt::Error naming the sample when it has no usable gold plan.
    if (need_gold && static_cast<int64_t>(p.encoded.ids.size()) <= max_prompt_length) p.ref = Reference::of(s);
    return p;
  }
  GT_CHECK(!need_gold, source,
           ": a TRL-format prompt has no plan for the built-in reward or the held-out eval to score; give "
           "reward.command (an external reward command, which receives the line's columns) and keep the held-out "
           "set to plan samples (docs/data.md)");
  p.encoded = data::encode_chat(tokenizer, data::render_prompt_line(line, source, kwargs), data::MaskRule::AllowEmpty,
                                source);
  p.record = {data::line_id(line, source), source, line};
  return p;
}

PromptSet read_prompts(const std::string& path, const data::Tokenizer& tokenizer, int64_t max_prompt_length,
                       bool need_gold, const data::ChatTemplateKwargs& kwargs) {
  PromptSet set;
  uint64_t h = fnv1a("", 0);
  for_each_jsonl(path, [&](const json& line, std::size_t number) {
    ++set.read;
    ReadPrompt p =
        read_prompt(line, path + ":" + std::to_string(number), tokenizer, max_prompt_length, need_gold, kwargs);
    const auto n = static_cast<int64_t>(p.encoded.ids.size());
    if (n > max_prompt_length) {
      ++set.dropped_too_long;
      return;
    }
    const std::string text = p.record.sample.dump();
    h = fnv1a(text.data(), text.size(), h);
    h = fnv1a(p.encoded.ids.data(), p.encoded.ids.size() * sizeof(int32_t), h);
    set.ids.emplace_back(p.encoded.ids.begin(), p.encoded.ids.end());
    set.refs.push_back(std::move(p.ref));
    set.samples.push_back(std::move(p.record));
    set.tokens += n;
    set.longest = std::max(set.longest, n);
  });
  GT_CHECK(set.read > 0, path, ": no samples (the file is empty)");
  set.fingerprint = h;
  return set;
}

}  // namespace

PromptSet load_prompts(const std::string& path, const data::Tokenizer& tokenizer, int64_t max_prompt_length,
                       bool need_gold, const data::ChatTemplateKwargs& kwargs) {
  PromptSet set = read_prompts(path, tokenizer, max_prompt_length, need_gold, kwargs);
  GT_CHECK(!set.samples.empty(), path, ": no prompt is left (", set.dropped_too_long,
           " of them are longer than max_prompt_length ", max_prompt_length, " tokens)");
  return set;
}

std::vector<int64_t> stop_ids_for(const std::string& model_dir, const data::Tokenizer& tokenizer) {
  if (!model_dir.empty() && std::filesystem::exists(std::filesystem::path(model_dir) / "generation_config.json"))
    return stop_ids_from(model_dir);
  const std::vector<int32_t> ids = data::chat_stop_ids(tokenizer);
  return {ids.begin(), ids.end()};
}

std::string completion_text(const data::Tokenizer& tokenizer, const std::vector<int64_t>& tokens) {
  const std::vector<int32_t> ids(tokens.begin(), tokens.end());
  return tokenizer.decode(ids, /*skip_special_tokens=*/false);
}

RewardFunction::RewardFunction(RewardWeights weights, std::string command, double timeout_s) : weights_(weights) {
  external_.command = std::move(command);
  external_.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
}

Scored RewardFunction::operator()(const PromptRecord& prompt, const std::optional<Reference>& ref,
                                  const std::string& completion) const {
  Scored s;
  if (external()) {
    s.reward = external_(prompt.sample, completion);
    return s;
  }
  GT_CHECK(ref.has_value(), prompt.source, ": sample '", prompt.id, "' has no gold plan to score against");
  const Score score = score_completion(completion, *ref, weights_);
  s.reward = score.reward;
  s.terms = score.terms;
  s.metrics = score.metrics;
  return s;
}

json HeldoutResult::to_json() const {
  return {{"samples", samples},
          {"mean", mean},
          {"json_valid", json_valid},
          {"plugin_id_match", plugin_id_match},
          {"count_match", count_match},
          {"no_hallucinate", no_hallucinate},
          {"hydrated", hydrated},
          {"deps_chain", deps_chain},
          {"tokens", tokens}};
}

HeldoutResult evaluate_heldout(const Gemma4& model, const data::Tokenizer& tokenizer, const PromptSet& set,
                               const HeldoutOptions& o) {
  HeldoutResult r;
  const size_t n = o.max_samples > 0 ? std::min(set.size(), static_cast<size_t>(o.max_samples)) : set.size();
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.sampling = o.sampling;
  g.stop_ids = o.stop_ids;
  g.vocab_limit = tokenizer.vocab_size();
  const double max_reward = o.weights.max_reward();
  for (size_t i = 0; i < n; ++i) {
    GT_CHECK(set.refs[i].has_value(), set.samples[i].source, ": held-out sample '", set.samples[i].id,
             "' has no gold plan");
    const Generation out = generate(model, set.ids[i], g)[0];
    r.tokens += static_cast<int64_t>(out.tokens.size());
    const Score s = score_completion(completion_text(tokenizer, out.tokens), *set.refs[i], o.weights);
    r.mean += s.reward / max_reward;
    r.json_valid += s.metrics.json_valid;
    r.plugin_id_match += s.metrics.plugin_id_match;
    r.count_match += s.metrics.count_match;
    r.no_hallucinate += s.metrics.no_hallucinate;
    r.hydrated += s.metrics.hydrated;
    r.deps_chain += s.metrics.deps_chain;
  }
  r.samples = static_cast<int64_t>(n);
  if (n > 0)
    for (double* v :
         {&r.mean, &r.json_valid, &r.plugin_id_match, &r.count_match, &r.no_hallucinate, &r.hydrated, &r.deps_chain})
      *v /= static_cast<double>(n);
  return r;
}

}  // namespace gt::rl
