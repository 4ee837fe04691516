#pragma once
// The AutoResearch ratchet (docs/spec.md §7). Trial 0 trains the space's initial configuration; every later trial
// takes a proposal that differs from the current best in one parameter, trains it in <out_dir>/trial-NNNN/ from
// the same start for the same budget, scores it with the fixed held-out eval, and keeps it only when its score is
// strictly higher than the best's. A proposal that is refused, a trainer that throws and a non-finite score all
// make a rejected trial with the reason recorded; none of them ends the search.
//
// Out dir: search.json (what the scores depend on; a resume must match it), history.jsonl, best.json, report.md
// and score.svg (research/report.h), trial-NNNN/ (params.json and whatever the trainer writes). Only the best
// trial keeps its weights.
//
// Resume: running again with the same out dir continues after the last recorded trial. Nothing recorded is run
// again; a trial folder past the last record (a trial interrupted before it was recorded) is deleted and that
// trial runs again from the start. Proposals are seeded by trial number, so the continued search proposes what
// an uninterrupted one would have.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "research/history.h"
#include "research/proposer.h"
#include "research/space.h"
#include "research/trainer.h"

namespace gt::research {

struct RatchetOptions {
  std::filesystem::path out_dir;
  int64_t iterations = 0;  // trials in all (trial 0 included), counting those already recorded
  Budget budget;
  // What the scores depend on (trainer settings, budget, eval, the space); kept in search.json. A resume with a
  // different identity is refused, since its scores would not compare with the recorded ones.
  nlohmann::json identity = nlohmann::json::object();
  std::ostream* progress = nullptr;
  const std::atomic<bool>* stop = nullptr;  // when it turns true: end the running trial unrecorded and return
};

struct RatchetResult {
  std::vector<TrialRecord> history;
  int64_t ran = 0;       // trials run by this call
  bool stopped = false;  // a stop request ended it before `iterations`
};

RatchetResult run_ratchet(const SearchSpace& space, Trainer& trainer, Proposer& proposer, const RatchetOptions& o);

// Asks the trainer to check the initial configuration and each parameter at each of its corner values, so a
// parameter the trainer has no setting for fails before any training. Errors name `source` and the parameter.
void check_space(const SearchSpace& space, const Trainer& trainer, const std::string& source);

// "trial-0007"
std::string trial_dir_name(int64_t trial);

}  // namespace gt::research
