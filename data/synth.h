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
#include <string>
#include <vector>

#include "data/plan_sample.h"

namespace gt::data::synth {

// What the candidates show of their parameters. `none` is the published prompt and keeps a sample with 6
// candidates near 2,300 characters (rendered, median); `typed` ({"type", "required"} per parameter) adds about
// 1,000 characters and `full` (with descriptions) about 1,450. Plans carry the same parameters either way.
enum class CandidateParams { none, typed, full };

struct Options {
  std::size_t train = 0, heldout = 0;
  // A third set for choosing among checkpoints (GRPO's best/), so the held-out set stays unseen by every choice.
  std::size_t dev = 0;
  std::uint64_t seed = 0;
  // Candidates per sample: the gold plugins plus distractors. At least 4, the longest plan.
  std::size_t num_plugins = 6;
  CandidateParams candidate_params = CandidateParams::none;
  // The domains plans and candidates are drawn from (domains() names them); empty: the whole catalog. Fewer
  // plugins means more examples of each for the same number of samples, which a small model from scratch needs.
  std::vector<std::string> domains;
};

struct Sets {
  std::vector<PlanSample> train, heldout, dev;
};

// Categories take turns (sample i is category i mod 5), so every category is present from 5 samples on. The
// held-out set is drawn first from its own stream, so it depends on the seed, its size and the options but not on
// the train size; the train set next, then the dev set, each from its own stream; a request is redrawn when it
// repeats any earlier request of any set, so no request text (the last user turn) is shared within or between the
// sets, and the dev size changes neither of the other two. Throws gt::Error for options it cannot meet.
Sets synthesize(const Options& o);

}  // namespace gt::data::synth
