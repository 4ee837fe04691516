#include "rl/rollout.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "base/checksum.h"
#include "base/error.h"
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

PromptSet read_prompts(const std::string& path, const data::Tokenizer& tokenizer, int64_t max_prompt_length,
                       bool need_gold) {
  PromptSet set;
  std::vector<data::PlanSample> all = data::read_samples(path);
  set.read = static_cast<int64_t>(all.size());
  uint64_t h = fnv1a("", 0);
  for (data::PlanSample& s : all) {
    const data::EncodedChat e = data::encode_plan_sample(tokenizer, s, false);
    const auto n = static_cast<int64_t>(e.ids.size());
    if (n > max_prompt_length) {
      ++set.dropped_too_long;
      continue;
    }
    std::optional<Reference> ref;
    if (need_gold) ref = Reference::of(s);  // a gt::Error naming the sample when it has no usable gold plan
    const std::string text = data::to_json(s).dump();
    h = fnv1a(text.data(), text.size(), h);
    h = fnv1a(e.ids.data(), e.ids.size() * sizeof(int32_t), h);
    set.ids.emplace_back(e.ids.begin(), e.ids.end());
    set.refs.push_back(std::move(ref));
    set.samples.push_back(std::move(s));
    set.tokens += n;
    set.longest = std::max(set.longest, n);
  }
  set.fingerprint = h;
  return set;
}

}  // namespace

PromptSet load_prompts(const std::string& path, const data::Tokenizer& tokenizer, int64_t max_prompt_length,
                       bool need_gold) {
  PromptSet set = read_prompts(path, tokenizer, max_prompt_length, need_gold);
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

Scored RewardFunction::operator()(const data::PlanSample& sample, const std::optional<Reference>& ref,
                                  const std::string& completion) const {
  Scored s;
  if (external()) {
    s.reward = external_(data::to_json(sample), completion);
    return s;
  }
  GT_CHECK(ref.has_value(), sample.source, ": sample '", sample.id, "' has no gold plan to score against");
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
