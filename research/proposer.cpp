#include "research/proposer.h"

#include "base/json_file.h"
#include "base/subprocess.h"

namespace gt::research {

using nlohmann::json;

Proposal Mutator::propose(const ProposalContext& c) {
  Rng rng = Rng::stream(seed_, static_cast<uint64_t>(c.trial));
  auto tried = [&](const json& params) {
    for (const TrialRecord& r : *c.history)
      if (r.params == params) return true;
    return false;
  };
  Proposal p = c.space->mutate(c.best_params, rng);
  for (int attempt = 1; attempt < 32 && tried(p.params); ++attempt) p = c.space->mutate(c.best_params, rng);
  return p;
}

json proposer_input(const ProposalContext& c) {
  json history = json::array();
  for (const TrialRecord& r : *c.history) history.push_back(to_json(r));
  const TrialRecord* b = best_trial(*c.history);
  const json best = {{"trial", b ? json(b->trial) : json(nullptr)},
                     {"score", b ? json(*b->score) : json(nullptr)},
                     {"params", c.best_params}};
  return {{"trial", c.trial},
          {"space", c.space->spec()},
          {"best", best},
          {"history", history},
          {"rules",
           "Print one JSON object of parameters that differs from best.params in exactly one parameter, with a "
           "value inside the space (parameters left out keep best's values). The configuration is trained for a "
           "fixed budget from the same start and kept only if its held-out score is strictly higher than best's."}};
}

Proposal CommandProposer::propose(const ProposalContext& c) {
  const std::string who = "proposer command '" + command_ + "'";
  const std::string out =
      run_shell_filter(command_, proposer_input(c).dump() + "\n", {who, timeout_, 1 << 20, "one JSON object"});
  json j;
  if (auto e = try_parse_json(out, j)) {
    std::string text = out.substr(0, out.find_last_not_of(" \t\r\n") + 1);
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    throw ProposalError(who + ": printed '" + text + "', which is not one JSON object (" + e->where() + ": " +
                        e->reason + ")");
  }
  try {
    return c.space->check(j, c.best_params);
  } catch (const ProposalError& e) {
    throw ProposalError(who + ": " + e.what());
  }
}

}  // namespace gt::research
