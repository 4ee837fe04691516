#pragma once
// Where proposals come from: the built-in mutator, or an external command (an LLM proposer, as in the published
// run). Either way a proposal is a configuration that differs from the current best in exactly one parameter.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "research/history.h"
#include "research/space.h"

namespace gt::research {

struct ProposalContext {
  int64_t trial = 0;  // the number the proposal will run as
  const SearchSpace* space = nullptr;
  nlohmann::json best_params;  // the best's configuration (the initial one while nothing has been kept)
  std::optional<double> best_score;
  const std::vector<TrialRecord>* history = nullptr;
};

class Proposer {
 public:
  virtual ~Proposer() = default;
  virtual std::string name() const = 0;  // recorded as the trial's "proposer"
  // Throws (ProposalError or any other exception) when it has no valid proposal; the ratchet records the message
  // as a rejected trial and goes on.
  virtual Proposal propose(const ProposalContext& context) = 0;
};

// SearchSpace::mutate of the best, drawn from a stream seeded by (seed, trial): a resumed search proposes exactly
// what the uninterrupted one would have. A configuration already in the history is drawn again (up to 32 times), so
// a small space is not spent repeating trials.
class Mutator : public Proposer {
 public:
  explicit Mutator(uint64_t seed) : seed_(seed) {}
  std::string name() const override { return "mutator"; }
  Proposal propose(const ProposalContext& context) override;

 private:
  uint64_t seed_;
};

// Runs `command` with /bin/sh -c, writes proposer_input() to its stdin as one line of JSON and reads one JSON
// object from its stdout: the parameters (all of them, or only the one it changes; left-out ones keep the best's
// values). Output that is not one JSON object, a value outside the space, a change of more or fewer than one
// parameter, an exit status other than 0 and a timeout are refused proposals.
class CommandProposer : public Proposer {
 public:
  CommandProposer(std::string command, std::chrono::milliseconds timeout)
      : command_(std::move(command)), timeout_(timeout) {}
  std::string name() const override { return "command"; }
  Proposal propose(const ProposalContext& context) override;

 private:
  std::string command_;
  std::chrono::milliseconds timeout_;
};

// What the proposer command reads: {"trial", "space" (the specs), "best": {"trial", "score", "params"} or null,
// "history": [every record], "rules": a sentence stating what to print}.
nlohmann::json proposer_input(const ProposalContext& context);

}  // namespace gt::research
