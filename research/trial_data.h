#pragma once
// Data parameters: a trial whose configuration sets "data.num_plugins" (candidates per sample) or
// "data.candidate_params" (none | typed | full) trains on a set re-synthesized by `data synth`'s library with
// those values, the rest of the synthesis (size, seed) fixed by the search's "synth" settings. The published
// search's best finding was such a parameter (num_plugins 6, down from 8).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "data/synth.h"

namespace gt::research {

struct SynthSettings {
  int64_t train = 0;  // samples
  uint64_t seed = 0;
  data::synth::Options defaults;  // num_plugins and candidate_params when the configuration leaves them out
};

// True for the parameter names handled here.
bool is_data_param(const std::string& name);

// The synthesis options for a configuration; throws gt::Error naming the parameter for a value synth refuses.
data::synth::Options synth_options(const SynthSettings& s, const nlohmann::json& params);

struct TrialData {
  int64_t samples = 0;
  int64_t dropped = 0;  // samples whose request is also a held-out request
};

// Synthesizes the training set and writes it to `file`, leaving out every sample whose request (the last user
// turn) appears among `heldout_requests`, so a trial never trains on what scores it.
TrialData write_trial_data(const SynthSettings& s, const nlohmann::json& params, const std::filesystem::path& file,
                           const std::set<std::string>& heldout_requests);

// The last user turn of a sample: what makes two requests the same.
std::string request_of(const data::PlanSample& s);

}  // namespace gt::research
