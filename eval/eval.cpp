#include "eval/eval.h"

#include "base/error.h"
#include "base/json_file.h"

namespace gt::eval {

using nlohmann::json;

std::vector<SampleResult> score_samples(const std::vector<data::PlanSample>& samples, const CompletionSource& source,
                                        const rl::RewardWeights& weights) {
  std::vector<rl::Reference> refs;
  refs.reserve(samples.size());
  for (const auto& s : samples) refs.push_back(rl::Reference::of(s));

  std::vector<SampleResult> results;
  results.reserve(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::string completion = source(samples[i]);
    rl::Score score = rl::score_completion(completion, refs[i], weights);
    results.push_back({samples[i].id, samples[i].category, std::move(completion), score});
  }
  return results;
}

std::map<std::string, std::string> read_completions(const std::filesystem::path& path,
                                                    const std::vector<data::PlanSample>& samples) {
  std::map<std::string, const data::PlanSample*> by_id;
  for (const auto& s : samples) {
    auto [it, fresh] = by_id.emplace(s.id, &s);
    if (!fresh) throw Error(s.source + ": id '" + s.id + "' repeats " + it->second->source);
  }

  const std::string file = path.string();
  std::map<std::string, std::string> completions;
  std::map<std::string, std::size_t> line_of;
  for_each_jsonl(path, [&](const json& v, std::size_t line) {
    const std::string at = file + ":" + std::to_string(line) + ": ";
    if (!v.is_object()) throw Error(at + "a line must be a JSON object with \"id\" and \"completion\"");
    for (const char* key : {"id", "completion"}) {
      if (!v.contains(key)) throw Error(at + "field '" + key + "' is missing");
      if (!v[key].is_string()) throw Error(at + "field '" + key + "' must be a string");
    }
    std::string id = v["id"].get<std::string>();
    if (!by_id.count(id)) throw Error(at + "id '" + id + "' is not in the data");
    if (auto [it, fresh] = line_of.emplace(id, line); !fresh)
      throw Error(at + "id '" + id + "' repeats line " + std::to_string(it->second));
    completions[id] = v["completion"].get<std::string>();
  });
  if (completions.empty()) throw Error(file + ": no completions (the file is empty)");
  for (const auto& s : samples)
    if (!completions.count(s.id)) throw Error(file + ": no completion for id '" + s.id + "' (" + s.source + ")");
  return completions;
}

}  // namespace gt::eval
