// `gemma-tune research --config configs/research.json [--proposer-command CMD] [--iterations N]`: the AutoResearch
// ratchet (research/ratchet.h). Running it again on the same out_dir resumes. SIGINT and SIGTERM end the running
// trial unrecorded (exit status 130); the next run starts that trial again.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "research/config.h"
#include "research/grpo_trainer.h"
#include "research/ratchet.h"
#include "research/sft_trainer.h"

namespace {

struct Options {
  std::string config, proposer_command;
  int64_t iterations = 0;
  gt::cli::LogLevel log = gt::cli::LogLevel::Normal;
};

std::unique_ptr<gt::research::Trainer> make_trainer(const gt::research::ResearchConfig& c, gt::cli::LogLevel log) {
  gt::research::TrialSettings s{c.trainer_config, c.path + ": '" + c.trainer + "'", c.synth, c.eval,
                                gt::cli::progress_stream(log)};
  if (c.trainer == "grpo") return std::make_unique<gt::research::GrpoTrainer>(std::move(s));
  return std::make_unique<gt::research::SftTrainer>(std::move(s));
}

int research(const Options& o) {
  using namespace gt::research;
  ResearchConfig c = load_research_config(o.config);
  if (o.iterations > 0) c.iterations = o.iterations;
  if (!o.proposer_command.empty()) c.proposer_command = o.proposer_command;
  std::unique_ptr<Trainer> trainer = make_trainer(c, o.log);
  check_space(c.space, *trainer, c.path);
  std::unique_ptr<Proposer> proposer;
  if (c.proposer_command.empty())
    proposer = std::make_unique<Mutator>(c.seed);
  else
    proposer = std::make_unique<CommandProposer>(
        c.proposer_command, std::chrono::milliseconds(static_cast<int64_t>(c.proposer_timeout_s * 1000)));

  RatchetOptions ro;
  ro.out_dir = c.out_dir;
  ro.iterations = c.iterations;
  ro.budget = c.budget;
  ro.identity = c.identity();
  ro.progress = gt::cli::progress_stream(o.log);
  ro.stop = &gt::cli::stop_on_signals();
  const RatchetResult r = run_ratchet(c.space, *trainer, *proposer, ro);
  if (const TrialRecord* b = best_trial(r.history))
    std::printf("best: trial %lld, score %.4f (%s/best.json)\n", static_cast<long long>(b->trial), *b->score,
                c.out_dir.c_str());
  else
    std::printf("no trial has scored yet\n");
  std::printf("%s/report.md\n", c.out_dir.c_str());
  return r.stopped ? 130 : 0;
}

gt::cli::Registrar research_reg("research", [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("research",
                                 "AutoResearch: a ratchet over training settings, one change per trial, kept only "
                                 "when the held-out score rises");
  sub->add_option("--config", o->config, "Search config (JSON), e.g. configs/research.json")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--proposer-command", o->proposer_command,
                  "Take proposals from this shell command: the history as JSON on stdin, one configuration (JSON) "
                  "on stdout");
  sub->add_option("--iterations", o->iterations, "Trials in all (trial 0 included); overrides the config's")
      ->check(gt::cli::at_least(1));
  gt::cli::add_log_level_options(sub, o->log);
  gt::cli::set_job(sub, [o] { return research(*o); });
});

}  // namespace
