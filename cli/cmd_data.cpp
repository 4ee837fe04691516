// `gemma-tune data clean` and `gemma-tune data synth`: plan data sets (§1).
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>

#include "cli/command.h"
#include "data/clean.h"
#include "data/synth.h"

namespace {

struct CleanOptions {
  std::string in, out, report;
};

struct SynthOptions {
  std::string out, candidate_params = "none";
  gt::data::synth::Options o;
};

int clean(const CleanOptions& c) {
  auto report = gt::data::clean_file(c.in, c.out, c.report);
  std::cout << "kept " << report.kept << " of " << report.total << " samples, dropped " << report.dropped.size()
            << "\n";
  for (auto r : gt::data::kDropReasons)
    if (std::size_t n = report.count(r)) std::cout << "  " << std::left << std::setw(20) << reason_name(r) << n << "\n";
  std::cout << "wrote " << c.out << " and " << c.report << "\n";
  return 0;
}

void print_counts(const std::string& name, const std::vector<gt::data::PlanSample>& samples,
                  const std::filesystem::path& file) {
  std::map<std::string, std::size_t> per;
  for (const auto& s : samples) ++per[s.category];
  std::cout << name << ": " << samples.size() << " samples (";
  bool first = true;
  for (auto c : gt::data::kCategories) {
    std::cout << (first ? "" : ", ") << c << " " << per[std::string(c)];
    first = false;
  }
  std::cout << ") -> " << file.string() << "\n";
}

int synth(SynthOptions& s) {
  using gt::data::synth::CandidateParams;
  s.o.candidate_params = s.candidate_params == "full"    ? CandidateParams::full
                         : s.candidate_params == "typed" ? CandidateParams::typed
                                                         : CandidateParams::none;
  auto sets = gt::data::synth::synthesize(s.o);
  std::filesystem::path dir = s.out;
  std::filesystem::create_directories(dir);
  gt::data::write_samples(dir / "train.jsonl", sets.train);
  gt::data::write_samples(dir / "heldout.jsonl", sets.heldout);
  if (s.o.dev) gt::data::write_samples(dir / "dev.jsonl", sets.dev);
  print_counts("train", sets.train, dir / "train.jsonl");
  print_counts("heldout", sets.heldout, dir / "heldout.jsonl");
  if (s.o.dev) print_counts("dev", sets.dev, dir / "dev.jsonl");
  return 0;
}

gt::cli::Registrar reg("data", [](CLI::App& app) {
  auto* data = app.add_subcommand("data", "Plan data sets: clean a sample file, or synthesize train and held-out sets");
  data->require_subcommand(1);

  auto c = std::make_shared<CleanOptions>();
  auto* cl =
      data->add_subcommand("clean", "Drop samples that break the cleaning rules, counting each drop under one reason");
  cl->add_option("in", c->in, "Samples to clean (JSON Lines); never modified")->required();
  cl->add_option("--out", c->out, "Where the kept samples go (JSON Lines, written atomically)")->required();
  cl->add_option("--report", c->report, "Where the report goes (JSON: counts per reason, each dropped line)")
      ->required();

  auto s = std::make_shared<SynthOptions>();
  auto* sy = data->add_subcommand("synth", "Write synthetic DIR/train.jsonl and DIR/heldout.jsonl");
  sy->add_option("--out", s->out, "Output directory (created if missing)")->required();
  sy->add_option("--train", s->o.train, "Number of train samples")->required()->check(gt::cli::at_least(1));
  sy->add_option("--heldout", s->o.heldout, "Number of held-out samples")->required()->check(gt::cli::at_least(1));
  sy->add_option("--dev", s->o.dev,
                 "Number of dev samples (DIR/dev.jsonl, for choosing checkpoints; none unless given)");
  sy->add_option("--seed", s->o.seed, "Random seed; the same seed gives the same files")->required();
  sy->add_option("--num-plugins", s->o.num_plugins, "Candidates per sample, gold plugins included (at least 4)")
      ->capture_default_str();
  sy->add_option("--domains", s->o.domains,
                 "Only these domains' plugins, comma-separated (e.g. travel,food); default: the whole catalog")
      ->delimiter(',');
  sy->add_option("--candidate-params", s->candidate_params,
                 "What candidates show of their parameters: none (as the published prompt), typed (type and "
                 "required), full (with descriptions); more makes longer samples")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "typed", "full"}));

  gt::cli::set_job(data, [c, s, cl] { return cl->parsed() ? clean(*c) : synth(*s); });
});

}  // namespace
