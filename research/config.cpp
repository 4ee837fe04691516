#include "research/config.h"

#include "base/error.h"
#include "base/json_file.h"
#include "train/config_reader.h"

namespace gt::research {

using nlohmann::json;
namespace synth = data::synth;

ResearchConfig parse_research_config(const json& j, const std::string& path) {
  ResearchConfig c;
  c.path = path;
  train::Section root(j, path, "");
  root.require("out_dir");
  c.out_dir = root.path("out_dir");
  c.iterations = root.integer("iterations", c.iterations, 1);
  c.seed = root.seed("seed", c.seed);
  c.trainer = root.choice("trainer", std::string("sft"), {{"sft", std::string("sft")}, {"grpo", std::string("grpo")}});
  root.require(c.trainer.c_str());
  c.trainer_config = *root.find(c.trainer.c_str());
  if (!c.trainer_config.is_object())
    root.bad(c.trainer.c_str(),
             std::string("must be an object (the trainer's config), got ") + train::json_type_name(c.trainer_config));

  train::Section budget = root.section("budget");
  root.require("budget");
  c.budget.max_steps = budget.integer("max_steps", 0, 0);
  c.budget.minutes = budget.number("minutes", 0);
  if (!(c.budget.minutes >= 0)) budget.bad("minutes", "must be >= 0");
  budget.done();
  if (c.budget.max_steps == 0 && c.budget.minutes == 0)
    budget.error("'budget' needs max_steps or minutes above 0, so every trial gets the same fixed budget");

  root.require("eval");
  train::Section ev = root.section("eval");
  ev.require("data");
  c.eval.data = ev.path("data");
  c.eval.max_samples = ev.integer("max_samples", c.eval.max_samples, 0);
  c.eval.max_new_tokens = ev.integer("max_new_tokens", c.eval.max_new_tokens, 1);
  c.eval.weights = ev.path("weights");
  ev.done();

  if (root.has("synth")) {
    train::Section sy = root.section("synth");
    SynthSettings s;
    sy.require("train");
    s.train = sy.integer("train", 0, 1);
    s.seed = sy.seed("seed", 0);
    s.defaults.num_plugins = static_cast<std::size_t>(sy.integer("num_plugins", 6, 4));
    s.defaults.candidate_params = sy.choice("candidate_params", synth::CandidateParams::none,
                                            {{"none", synth::CandidateParams::none},
                                             {"typed", synth::CandidateParams::typed},
                                             {"full", synth::CandidateParams::full}});
    sy.done();
    c.synth = s;
  }

  train::Section pr = root.section("proposer");
  c.proposer_command = pr.str("command", "");
  c.proposer_timeout_s = pr.number("timeout_s", c.proposer_timeout_s);
  if (!(c.proposer_timeout_s > 0)) pr.bad("timeout_s", "must be > 0");
  pr.done();

  root.require("space");
  c.space = SearchSpace::parse(*root.find("space"), path);
  root.done();
  return c;
}

ResearchConfig load_research_config(const std::string& path) {
  return parse_research_config(read_json_file(path), path);
}

namespace {

const char* candidate_params_name(synth::CandidateParams p) {
  switch (p) {
    case synth::CandidateParams::none: return "none";
    case synth::CandidateParams::typed: return "typed";
    case synth::CandidateParams::full: return "full";
  }
  return "?";
}

}  // namespace

json ResearchConfig::identity() const {
  json synth_json = nullptr;
  if (synth)
    synth_json = {{"train", synth->train},
                  {"seed", synth->seed},
                  {"num_plugins", synth->defaults.num_plugins},
                  {"candidate_params", candidate_params_name(synth->defaults.candidate_params)}};
  return {{"trainer", trainer},
          {trainer, trainer_config},
          {"budget", {{"max_steps", budget.max_steps}, {"minutes", budget.minutes}}},
          {"eval",
           {{"data", eval.data},
            {"max_samples", eval.max_samples},
            {"max_new_tokens", eval.max_new_tokens},
            {"weights", eval.weights}}},
          {"synth", synth_json},
          {"space", space.spec()}};
}

}  // namespace gt::research
