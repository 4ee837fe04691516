// `gemma-tune eval`: score completions against the gold plans and write the §3 report, or compare two reports.
#include <filesystem>
#include <iostream>
#include <memory>

#include "base/error.h"
#include "cli/command.h"
#include "data/plan_sample.h"
#include "eval/eval.h"
#include "eval/model_eval.h"
#include "eval/paired.h"
#include "eval/report.h"

namespace {

struct Options {
  std::string completions, model, adapter, data, out, weights, device = "cpu";
  std::vector<std::string> compare;
  int64_t max_new_tokens = 512, top_k = 0;
  double temperature = 0, top_p = 1;
  uint64_t seed = 0;
  gt::cli::LogLevel log = gt::cli::LogLevel::Normal;
};

int compare(const Options& o) {
  std::cout << gt::eval::markdown_compare_reports(o.compare[0], o.compare[0], o.compare[1], o.compare[1]);
  return 0;
}

// Scores `source`'s completions and writes the report; `inputs` records where they came from.
int score(const Options& o, const std::vector<gt::data::PlanSample>& samples, const gt::eval::CompletionSource& source,
          const std::map<std::string, std::string>& inputs) {
  auto weights = o.weights.empty() ? gt::rl::RewardWeights{} : gt::rl::RewardWeights::load(o.weights);
  auto results = gt::eval::score_samples(samples, source, weights);
  auto report = gt::eval::summarize(results, weights);
  report.inputs["data"] = o.data;
  for (const auto& [k, v] : inputs) report.inputs[k] = v;
  gt::eval::write_report(o.out, report, results);
  std::cout << gt::eval::markdown_table(report) << "\nwrote " << o.out
            << "/report.md, report.json, completions.jsonl\n";
  return 0;
}

int score_completions(const Options& o) {
  auto samples = gt::data::read_samples(o.data);
  auto completions = gt::eval::read_completions(o.completions, samples);
  return score(o, samples, [&](const gt::data::PlanSample& s) { return completions.at(s.id); },
               {{"completions", o.completions}});
}

int score_model(const Options& o) {
  gt::eval::ModelEval e;
  gt::cli::require_model_dir(o.model, "--model");
  e.model_dir = o.model;
  e.adapter_dir = o.adapter;
  e.data = o.data;
  e.out_dir = o.out;
  e.source.max_new_tokens = o.max_new_tokens;
  e.source.sampling = {o.temperature, o.top_k, o.top_p, o.seed};
  if (!o.weights.empty()) e.weights = gt::rl::RewardWeights::load(o.weights);
  e.progress = gt::cli::progress_stream(o.log);
  e.device = gt::cli::parse_device(o.device);
  const auto report = gt::eval::evaluate_model_dir(e);
  std::cout << gt::eval::markdown_table(report) << "\nwrote " << o.out << "/report.md, report.json, completions.jsonl\n";
  return 0;
}

gt::cli::Registrar reg("eval", [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("eval",
                                 "Score completions on a held-out set (report.md, report.json, "
                                 "completions.jsonl) or compare two reports");
  auto* completions = sub->add_option("--completions", o->completions,
                                      "Completions made elsewhere: one {\"id\", \"completion\"} object per line");
  auto* model = sub->add_option("--model", o->model, "Generate the completions with this model directory");
  sub->add_option("--adapter", o->adapter, "With --model: a LoRA adapter folder (peft's layout) to apply")
      ->needs(model);
  sub->add_option("--max-new-tokens", o->max_new_tokens, "With --model: limit on new tokens")->capture_default_str();
  sub->add_option("--temperature", o->temperature, "With --model: 0 = greedy (the default)")->capture_default_str();
  sub->add_option("--top-k", o->top_k, "With --model: 0 = off")->capture_default_str();
  sub->add_option("--top-p", o->top_p, "With --model: 1 = off")->capture_default_str();
  sub->add_option("--seed", o->seed, "With --model: sampling seed")->capture_default_str();
  gt::cli::add_device_option(sub, o->device);
  gt::cli::add_log_level_options(sub, o->log);
  auto* data = sub->add_option("--data", o->data, "The samples, with gold plans (JSON Lines)");
  auto* out = sub->add_option("--out", o->out, "Directory for report.md, report.json and completions.jsonl");
  auto* weights = sub->add_option("--weights", o->weights, "Reward weights (JSON); default: the published ones");
  auto* cmp = sub->add_option("--compare", o->compare, "Two report.json files to put side by side")->expected(2);
  completions->needs(data, out)->excludes(model);
  model->needs(data, out);
  cmp->excludes(completions, model, data, out, weights);
  gt::cli::set_job(sub, [o] {
    if (!o->compare.empty()) return compare(*o);
    if (!o->completions.empty()) return score_completions(*o);
    if (!o->model.empty()) return score_model(*o);
    gt::fail("eval: give --model DIR or --completions FILE.jsonl (with --data and --out), or --compare A/report.json "
             "B/report.json");
  });
});

}  // namespace
