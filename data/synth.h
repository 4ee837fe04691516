#pragma once
// `data synth`: synthetic plan samples (§1.1) from the plugin catalog, deterministic for a seed.
//
// A sample's gold plan is built first (which plugins, in which order, which step uses which step's result), then
// the request is written from per-plugin phrasings, so every parameter value of the plan is a value the request
// states. A step that uses the previous step's result is asked for with a follow-up phrasing that points back at
// it ("book a table there", "email it to ..."), and that is exactly when the step depends on the previous one.
// Categories: 1_step .. 4_step, and multi_turn (1 or 2 steps) where the plan answers the last of three turns; the
// first turn is either an earlier, already answered request (its plugin is then among the distractors), a
// greeting, or a vague opener naming the domain.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/plan_sample.h"

namespace gt::data::synth {

// What the candidates show of their parameters. `none` is the published prompt and keeps a sample with 6
// candidates near 2,300 characters (rendered, median); `typed` ({"type", "required"} per parameter) adds about
// 1,000 characters and `full` (with descriptions) about 1,450. Plans carry the same parameters either way.
enum class CandidateParams { none, typed, full };

struct Options {
  std::size_t train = 0, heldout = 0;
  std::uint64_t seed = 0;
  // Candidates per sample: the gold plugins plus distractors. At least 4, the longest plan.
  std::size_t num_plugins = 6;
  CandidateParams candidate_params = CandidateParams::none;
};

struct Sets {
  std::vector<PlanSample> train, heldout;
};

// Categories take turns (sample i is category i mod 5), so every category is present from 5 samples on. The
// held-out set is drawn first from its own stream, so it depends on the seed, its size and the options but not on
// the train size; train requests are redrawn when they repeat any earlier request of either set, so no request
// text (the last user turn) is shared within or between the sets. Throws DataError for options it cannot meet.
Sets synthesize(const Options& o);

}  // namespace gt::data::synth
