#include "research/trial_data.h"

#include "base/error.h"
#include "data/synth_catalog.h"

namespace gt::research {

using nlohmann::json;
namespace synth = data::synth;

bool is_data_param(const std::string& name) { return name == "data.num_plugins" || name == "data.candidate_params"; }

synth::Options synth_options(const SynthSettings& s, const json& params) {
  synth::Options o = s.defaults;
  o.train = static_cast<std::size_t>(s.train);
  o.heldout = 0;
  o.seed = s.seed;
  if (const auto it = params.find("data.num_plugins"); it != params.end()) {
    const std::size_t most = synth::catalog().size();
    if (!it->is_number_integer() || it->get<int64_t>() < 4 || it->get<std::size_t>() > most)
      fail("'data.num_plugins' must be an integer from 4 (the longest plan) to ", most, " (the catalog), got ",
           it->dump());
    o.num_plugins = it->get<std::size_t>();
  }
  if (const auto it = params.find("data.candidate_params"); it != params.end()) {
    const std::string v = it->is_string() ? it->get<std::string>() : "";
    if (v == "none")
      o.candidate_params = synth::CandidateParams::none;
    else if (v == "typed")
      o.candidate_params = synth::CandidateParams::typed;
    else if (v == "full")
      o.candidate_params = synth::CandidateParams::full;
    else
      fail("'data.candidate_params' must be \"none\", \"typed\" or \"full\", got ", it->dump());
  }
  return o;
}

std::string request_of(const data::PlanSample& s) {
  for (auto it = s.messages.rbegin(); it != s.messages.rend(); ++it)
    if (it->role == "user") return it->content;
  return "";
}

TrialData write_trial_data(const SynthSettings& s, const json& params, const std::filesystem::path& file,
                           const std::set<std::string>& heldout_requests) {
  const synth::Sets sets = synth::synthesize(synth_options(s, params));
  std::vector<data::PlanSample> kept;
  for (const data::PlanSample& x : sets.train)
    if (!heldout_requests.count(request_of(x))) kept.push_back(x);
  GT_CHECK(!kept.empty(), "research: every synthesized training sample repeats a held-out request");
  std::filesystem::create_directories(file.parent_path());
  data::write_samples(file, kept);
  return {static_cast<int64_t>(kept.size()), static_cast<int64_t>(sets.train.size() - kept.size())};
}

}  // namespace gt::research
