#include "research/config_trainer.h"

#include "base/error.h"

namespace gt::research {

namespace fs = std::filesystem;
using nlohmann::json;

void set_path(json& j, const std::string& path, const json& value) {
  json* at = &j;
  std::size_t from = 0;
  for (;;) {
    const std::size_t dot = path.find('.', from);
    const std::string key = path.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    if (!at->is_object())
      fail("'", path.substr(0, from ? from - 1 : 0), "' is not an object, so '", path, "' cannot be set");
    if (key.empty()) fail("'", path, "' has an empty part");
    if (dot == std::string::npos) {
      (*at)[key] = value;
      return;
    }
    if (!at->contains(key)) (*at)[key] = json::object();
    at = &(*at)[key];
    from = dot + 1;
  }
}

ConfigTrainer::ConfigTrainer(std::string name, TrialSettings s)
    : name_(std::move(name)), s_(std::move(s)), scorer_(s_.eval) {
  if (!s_.base.is_object()) fail(s_.source, " must be an object (a ", name_, " config)");
  if (s_.base.contains("out_dir")) fail(s_.source, ": leave out 'out_dir'; every trial runs in its own folder");
  if (s_.synth && s_.base.contains("data") && s_.base["data"].is_object() && s_.base["data"].contains("train"))
    fail(s_.source, ": leave out 'data.train'; with 'synth' every trial trains on a set synthesized for it");
}

json ConfigTrainer::trial_config(const json& params, const fs::path& dir, const Budget& budget) const {
  json c = s_.base;
  for (auto it = params.begin(); it != params.end(); ++it)
    if (!is_data_param(it.key())) set_path(c, it.key(), it.value());
  if (s_.synth) set_path(c, "data.train", (dir / "data" / "train.jsonl").string());
  c["out_dir"] = (dir / name_).string();
  if (budget.max_steps > 0) c["max_steps"] = budget.max_steps;
  // Checkpoints only serve a resume, and an interrupted trial is run again from the start.
  c["checkpoint"] = {{"every", 0}, {"keep_last", 1}};
  return c;
}

train::RunOptions ConfigTrainer::trial_options(const std::atomic<bool>* stop, double time_limit_s) const {
  train::RunOptions o;
  o.stop_flag = stop;
  o.progress = s_.progress;
  o.time_limit_s = time_limit_s;
  return o;
}

ConfigTrainer::RunOutcome ConfigTrainer::outcome(const train::RunResult& r, json details) {
  return {r.finished || r.out_of_time, r.step, std::move(details)};
}

void ConfigTrainer::check(const json& params) const {
  for (auto it = params.begin(); it != params.end(); ++it)
    if (is_data_param(it.key()) && !s_.synth)
      fail("'", it.key(), "' re-synthesizes the training data, which needs the search's 'synth' settings");
  if (s_.synth) synth_options(*s_.synth, params);
  parse(trial_config(params, "trial", Budget{1, 0}));
}

TrialResult ConfigTrainer::run(const json& params, const fs::path& dir, const Budget& budget,
                               const std::atomic<bool>* stop) {
  TrialResult res;
  if (s_.synth) {
    const TrialData d = write_trial_data(*s_.synth, params, dir / "data" / "train.jsonl", scorer_.requests());
    res.details["train_samples"] = d.samples;
    res.details["dropped_heldout_requests"] = d.dropped;
  }
  const json config = trial_config(params, dir, budget);
  const RunOutcome r = train(config, stop, budget.minutes * 60);
  if (!r.ended) fail(name_, ": stopped after step ", r.steps, " before the end of its budget");
  fs::remove_all(dir / name_ / "checkpoints");
  res.weights = dir / name_ / "final";
  const eval::Report report = scorer_.score(res.weights, dir / "eval", s_.progress, stop);
  res.score = report.overall.mean;
  res.details["steps"] = r.steps;
  res.details.update(r.details);
  res.details["eval"] = eval::to_json(report)["overall"];
  return res;
}

}  // namespace gt::research
