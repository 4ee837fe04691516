// `gemma-tune reward`: the §2 reward and §3 metrics of one completion for one sample, as one JSON object.
#include <iostream>
#include <memory>

#include "base/files.h"
#include "cli/command.h"
#include "data/plan_sample.h"
#include "rl/external_reward.h"
#include "rl/reward.h"

namespace {

struct Options {
  std::string sample, completion, weights, reward_command;
  double timeout_s = 30;
};

gt::cli::Registrar reg("reward", [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("reward", "Score one completion: reward, each reward term, and the eval metrics");
  sub->add_option("--sample", o->sample, "File holding the sample, one JSON object with a gold plan (target)")
      ->type_name("FILE")
      ->required();
  sub->add_option("--completion", o->completion, "File holding the completion text (the model's output, as generated)")
      ->type_name("FILE")
      ->required();
  auto* weights = sub->add_option("--weights", o->weights, "Reward weights (JSON); default: the published ones");
  auto* command = sub->add_option("--reward-command", o->reward_command,
                                  "Take the reward from this shell command instead: it reads "
                                  "{\"sample\": ..., \"completion\": ...} on stdin and prints a number");
  sub->add_option("--reward-timeout", o->timeout_s, "Seconds the reward command may take")
      ->capture_default_str()
      ->check(gt::cli::above(0))
      ->needs(command);
  weights->excludes(command);
  gt::cli::set_job(sub, [o] {
    gt::data::PlanSample sample = gt::data::read_sample(o->sample);
    std::string completion = gt::read_text_file(o->completion);
    auto weights = o->weights.empty() ? gt::rl::RewardWeights{} : gt::rl::RewardWeights::load(o->weights);
    gt::rl::Score score = gt::rl::score_completion(completion, gt::rl::Reference::of(sample), weights);
    nlohmann::json out = score.to_json();
    if (!o->reward_command.empty()) {
      // The metrics stay ours; the reward, and its only term, come from the command.
      gt::rl::ExternalReward external{o->reward_command,
                                      std::chrono::milliseconds(static_cast<long long>(o->timeout_s * 1000))};
      double r = external(gt::data::to_json(sample), completion);
      out["reward"] = r;
      out["terms"] = {{"external", r}};
    }
    std::cout << out.dump() << "\n";
    return 0;
  });
});

}  // namespace
