#include "model/generate.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/json_file.h"

namespace gt {

std::vector<Generation> generate(const Gemma4& model, const std::vector<int64_t>& prompt, const GenerateOptions& opt) {
  GT_CHECK(!prompt.empty(), "generate: empty prompt");
  GT_CHECK(opt.num_samples >= 1 && opt.max_new_tokens >= 0, "generate: need num_samples >= 1 and max_new_tokens >= 0");
  GT_CHECK(opt.vocab_limit >= 0, "generate: vocab_limit must be >= 0, got ", opt.vocab_limit);
  NoGradGuard ng;
  const int64_t G = opt.num_samples, V = model.config().vocab_size;
  // Sampling from the first `drawable` logits of a row is sampling with the rest masked out.
  const int64_t drawable = opt.vocab_limit > 0 ? std::min(opt.vocab_limit, V) : V;
  KVCache prompt_cache;
  Tensor logits = prefill(model, prompt, prompt_cache);
  KVCache cache = prompt_cache.fork(G);

  std::vector<Sampler> samplers;
  for (int64_t s = 0; s < G; ++s) samplers.emplace_back(opt.sampling, static_cast<uint64_t>(s));
  std::vector<Generation> out(static_cast<size_t>(G));
  std::vector<int64_t> next(static_cast<size_t>(G));
  for (int64_t step = 0; step < opt.max_new_tokens; ++step) {
    // The sampler reads f32 rows on the host (a GPU model's logits come over: [G, V] a step).
    logits = dense_f32(logits.to(Device::CPU));
    const float* lp = logits.data<float>();
    bool any_active = false;
    for (int64_t s = 0; s < G; ++s) {
      Generation& g = out[static_cast<size_t>(s)];
      if (g.stopped) continue;
      // Every sample starts from the one prefill row; afterwards each reads its own row.
      const float* row = lp + (logits.size(0) == 1 ? 0 : s) * V;
      const int64_t t = samplers[static_cast<size_t>(s)].sample(row, drawable);
      g.tokens.push_back(t);
      next[static_cast<size_t>(s)] = t;
      if (opt.on_token) opt.on_token(s, t);
      g.stopped = std::find(opt.stop_ids.begin(), opt.stop_ids.end(), t) != opt.stop_ids.end();
      any_active = any_active || !g.stopped;
    }
    if (!any_active || step + 1 == opt.max_new_tokens) break;
    // Finished samples still feed their last token (keeping the batch rectangular); their rows are ignored.
    logits = decode_step(model, next, cache);
  }
  return out;
}

Tensor prefill(const Gemma4& model, const std::vector<int64_t>& prompt, KVCache& cache) {
  ForwardOptions fo;
  fo.cache = &cache;
  const int64_t P = static_cast<int64_t>(prompt.size());
  Tensor h = model.hidden_states(Tensor::from_ids(prompt, {1, P}), fo);
  // Only the last position's logits are needed (transformers' logits_to_keep = 1).
  return model.head(h.slice(1, P - 1, P)).contiguous();
}

Tensor decode_step(const Gemma4& model, const std::vector<int64_t>& next, KVCache& cache) {
  ForwardOptions fo;
  fo.cache = &cache;
  const int64_t B = static_cast<int64_t>(next.size());
  return model.head(model.hidden_states(Tensor::from_ids(next, {B, 1}), fo)).contiguous();
}

std::vector<int64_t> stop_ids_from(const std::string& model_dir) {
  const std::filesystem::path p = std::filesystem::path(model_dir) / "generation_config.json";
  if (!std::filesystem::exists(p)) return {1, 106, 50};
  const nlohmann::json j = read_json_file(p);
  if (!j.contains("eos_token_id") || j["eos_token_id"].is_null()) return {};
  const auto& e = j["eos_token_id"];
  bool ids = e.is_number_integer() || e.is_array();
  if (e.is_array())
    for (const auto& id : e) ids = ids && id.is_number_integer();
  GT_CHECK(ids, p.string(), ": eos_token_id must be an id or a list of ids, got ", e.dump());
  return e.is_array() ? e.get<std::vector<int64_t>>() : std::vector<int64_t>{e.get<int64_t>()};
}

namespace {

// A number from generation_config.json, or `fallback` when the key is absent or null (transformers treats null as
// unset); anything else is an error naming the file.
double config_number(const nlohmann::json& j, const char* key, double fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  GT_CHECK(j[key].is_number(), file, ": ", key, " must be a number, got ", j[key].dump());
  return j[key].get<double>();
}

}  // namespace

SamplingOptions sampling_from(const std::string& model_dir, SamplingRule rule) {
  const bool transformers = rule == SamplingRule::Transformers;
  const std::filesystem::path p = std::filesystem::path(model_dir) / "generation_config.json";
  SamplingOptions s;
  s.temperature = transformers ? 0.0 : 1.0;
  if (!std::filesystem::exists(p)) return s;
  const std::string file = p.string();
  const nlohmann::json j = read_json_file(p);
  GT_CHECK(j.is_object(), file, ": must hold a JSON object");
  if (j.contains("do_sample") && !j["do_sample"].is_null())
    GT_CHECK(j["do_sample"].is_boolean(), file, ": do_sample must be true or false, got ", j["do_sample"].dump());
  // Absent: transformers' GenerationConfig does not sample; vLLM takes the keys as they are.
  const bool do_sample = j.contains("do_sample") && j["do_sample"].is_boolean() ? j["do_sample"].get<bool>()
                                                                                : !transformers;
  if (!do_sample) {
    s.temperature = 0.0;
    return s;
  }
  s.temperature = config_number(j, "temperature", 1.0, file);
  const double top_k = config_number(j, "top_k", transformers ? 50 : 0, file);
  s.top_p = config_number(j, "top_p", 1.0, file);
  // transformers refuses a zero temperature when sampling; vLLM reads it as greedy.
  GT_CHECK(transformers ? s.temperature > 0 : s.temperature >= 0, file, ": temperature must be ",
           transformers ? "> 0 with do_sample true" : ">= 0", ", got ", s.temperature);
  GT_CHECK(top_k >= 0 && top_k <= 1e9 && top_k == static_cast<double>(static_cast<int64_t>(top_k)), file,
           ": top_k must be a whole number >= 0, got ", j["top_k"].dump());
  GT_CHECK(s.top_p > 0 && s.top_p <= 1, file, ": top_p must be in (0, 1], got ", s.top_p);
  s.top_k = static_cast<int64_t>(top_k);
  return s;
}

}  // namespace gt
