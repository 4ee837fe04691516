#pragma once
// The one interface through which AutoResearch drives a trainer: train from the fixed start checkpoint with a
// trial's parameters for a fixed budget, in the trial's own folder, and score the result with the fixed held-out
// eval. The ratchet knows nothing else about training; tests drive it with a stand-in whose score is a known
// function of the parameters.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace gt::research {

// The same for every trial, so scores compare. A run ends at whichever limit comes first; 0 means no limit of that
// kind (at least one is set).
struct Budget {
  int64_t max_steps = 0;
  double minutes = 0;
};

struct TrialResult {
  double score = 0;  // the held-out eval Mean; a non-finite score makes the trial rejected
  // The trained model's folder, if the trainer kept one: the ratchet removes it once the trial is not (or no
  // longer) the best, so a long search keeps one set of weights.
  std::filesystem::path weights;
  nlohmann::json details = nlohmann::json::object();  // what else the history should show (steps, losses, ...)
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  // What the history, report and progress lines call it ("sft").
  virtual std::string name() const = 0;
  // Throws gt::Error when `params` cannot become a run (a parameter name it has no setting for, a value it
  // refuses). The ratchet calls it before the first trial with each parameter at each of its corner values, so a
  // bad space fails at once rather than as a string of rejected trials.
  virtual void check(const nlohmann::json& params) const = 0;
  // Trains and scores one trial in `dir` (created, empty). Throws on failure: the ratchet records the message as
  // the reason and rejects the trial. When *stop turns true it should return or throw soon; the ratchet then
  // records nothing and a resumed search runs the trial again.
  virtual TrialResult run(const nlohmann::json& params, const std::filesystem::path& dir, const Budget& budget,
                          const std::atomic<bool>* stop) = 0;
};

}  // namespace gt::research
