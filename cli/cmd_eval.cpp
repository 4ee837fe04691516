// `gemma-tune eval`: score completions against the gold plans and write the §3 report, or compare two reports.
#include <iostream>
#include <memory>

#include "autograd/error.h"
#include "cli/command.h"
#include "data/plan_sample.h"
#include "eval/eval.h"
#include "eval/report.h"

namespace {

struct Options {
  std::string completions, model, data, out, weights;
  std::vector<std::string> compare;
};

int compare(const Options& o) {
  auto a = gt::eval::read_report(o.compare[0]);
  auto b = gt::eval::read_report(o.compare[1]);
  std::cout << gt::eval::markdown_compare(a, o.compare[0], b, o.compare[1]);
  return 0;
}

int score_completions(const Options& o) {
  auto samples = gt::data::read_samples(o.data);
  auto completions = gt::eval::read_completions(o.completions, samples);
  auto weights = o.weights.empty() ? gt::rl::RewardWeights{} : gt::rl::RewardWeights::load(o.weights);
  auto results = gt::eval::score_samples(
      samples, [&](const gt::data::PlanSample& s) { return completions.at(s.id); }, weights);
  auto report = gt::eval::summarize(results, weights);
  report.inputs["data"] = o.data;
  report.inputs["completions"] = o.completions;
  gt::eval::write_report(o.out, report, results);
  std::cout << gt::eval::markdown_table(report) << "\nwrote " << o.out
            << "/report.md, report.json, completions.jsonl\n";
  return 0;
}

gt::cli::Registrar reg("eval", [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("eval",
                                 "Score completions on a held-out set (report.md, report.json, "
                                 "completions.jsonl) or compare two reports");
  auto* completions = sub->add_option("--completions", o->completions,
                                      "Completions made elsewhere: one {\"id\", \"completion\"} object per line");
  auto* model = sub->add_option("--model", o->model, "Generate the completions with this model (not available yet)");
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
    if (!o->model.empty())
      gt::fail(
          "eval --model: generating completions needs the inference engine, which is not available yet; "
          "generate them elsewhere and score them with --completions FILE.jsonl --data FILE.jsonl --out DIR");
    gt::fail("eval: give --completions FILE.jsonl (with --data and --out), or --compare A/report.json B/report.json");
  });
});

}  // namespace
