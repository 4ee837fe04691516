// `gemma-tune demo`: the main job, end to end on the CPU: synthesize plan data, clean it, fine-tune the tiny
// Gemma-4-shaped model from scratch, evaluate it on the held-out set, and write a report.
//
// With --grpo (or "grpo": {"enabled": true}), GRPO follows from the SFT model and is evaluated the same way, and the
// report puts the two evals side by side. It is off by default: SFT and its eval take about 12 minutes on this
// 2-core machine, and GRPO's 300 steps with their eval another 17.
//
// Its defaults (configs/demo.json, the tiny model and its tokenizer) are compiled in, so it runs from any directory.
// Every stage leaves its files under the out dir, and running the demo again continues where it stopped: the data
// is reused when its settings are unchanged, SFT resumes from its latest checkpoint, and a finished SFT is not
// redone. SIGINT or SIGTERM ends the current SFT step with a checkpoint (exit status 130).
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "cli/command.h"
#include "cli/embedded_configs.h"
#include "data/clean.h"
#include "data/plan_sample.h"
#include "data/synth.h"
#include "data/tokenizer.h"
#include "eval/model_eval.h"
#include "eval/paired.h"
#include "rl/grpo.h"
#include "rl/grpo_config.h"
#include "train/checkpoint.h"
#include "train/config_reader.h"
#include "train/metric_plots.h"
#include "train/sft.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string_view embedded(std::string_view name) {
  if (std::string_view text = gt::cli::embedded_config(name); !text.empty()) return text;
  gt::fail("demo: no embedded file named '", name, "' (embedded: demo.json, tiny.json, tiny-tokenizer.json)");
}

// The demo's own settings; the "sft" object is an SFT config (train/sft_config.h) without the keys the demo fills
// in (model, tokenizer, data, out_dir).
struct DemoConfig {
  std::string source;  // where it came from, for errors
  std::string out_dir = "runs/demo";
  std::string model_config = "embedded:tiny.json", tokenizer = "embedded:tiny-tokenizer.json";
  gt::data::synth::Options synth;
  json sft = json::object();
  bool grpo_enabled = false;
  json grpo = json::object();  // a GRPO config (rl/grpo_config.h) without model, tokenizer, data and out_dir
  int64_t eval_max_new_tokens = 400;
};

const char* candidate_params_name(gt::data::synth::CandidateParams p) {
  using gt::data::synth::CandidateParams;
  return p == CandidateParams::full ? "full" : p == CandidateParams::typed ? "typed" : "none";
}

// Read as strictly as the trainers' configs (train/config_reader.h): unknown keys and wrong types are errors naming
// the source and the key. "sft" and "grpo" are checked by the trainers' own readers when the stages build them.
DemoConfig parse_demo_config(const json& j, const std::string& source) {
  using gt::data::synth::CandidateParams;
  gt::train::Section root(j, source, "");
  DemoConfig c;
  c.source = source;
  c.out_dir = root.path("out_dir", c.out_dir);
  c.model_config = root.path("model_config", c.model_config);
  c.tokenizer = root.path("tokenizer", c.tokenizer);
  gt::train::Section d = root.section("data");
  c.synth.train = static_cast<size_t>(d.integer("train", 6000, 1));
  c.synth.heldout = static_cast<size_t>(d.integer("heldout", 500, 1));
  c.synth.dev = static_cast<size_t>(d.integer("dev", 50, 1));
  c.synth.seed = d.seed("seed", 1);
  c.synth.num_plugins = static_cast<size_t>(d.integer("num_plugins", 6, 4));
  // Absent: demo.json's two domains; [] is the whole catalog.
  c.synth.domains = d.has("domains") ? d.strings("domains") : std::vector<std::string>{"travel", "food"};
  c.synth.candidate_params = d.choice("candidate_params", CandidateParams::none,
                                      {{"none", CandidateParams::none},
                                       {"typed", CandidateParams::typed},
                                       {"full", CandidateParams::full}});
  d.done();
  // A trainer's config minus the keys the demo fills in.
  auto trainer_config = [&](const char* key) {
    gt::train::Section t = root.section(key);
    for (const char* k : {"model", "tokenizer", "data", "out_dir"})
      if (t.has(k)) t.bad(k, "is set by the demo");
    const json* v = root.find(key);
    return v ? *v : json::object();
  };
  c.sft = trainer_config("sft");
  c.grpo = trainer_config("grpo");
  if (c.grpo.contains("enabled")) {
    gt::train::Section g(c.grpo, source, "grpo");
    c.grpo_enabled = g.boolean("enabled", false);
    c.grpo.erase("enabled");
  }
  gt::train::Section ev = root.section("eval");
  c.eval_max_new_tokens = ev.integer("max_new_tokens", c.eval_max_new_tokens, 1);
  ev.done();
  root.done();
  return c;
}

// A config value that is either "embedded:NAME" or a path; the bytes go to `dest` (the run's own copy).
void materialize(const std::string& what, const fs::path& dest) {
  constexpr std::string_view kPrefix = "embedded:";
  std::string text;
  if (what.rfind(kPrefix, 0) == 0)
    text = std::string(embedded(std::string_view(what).substr(kPrefix.size())));
  else
    text = gt::read_text_file(what);
  gt::write_file_atomically(dest, text);
}

std::string seconds(double s) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(s < 100 ? 1 : 0) << s << " s";
  return os.str();
}

class Demo {
 public:
  explicit Demo(DemoConfig c) : c_(std::move(c)), out_(c_.out_dir) {}

  int run() {
    const auto t0 = Clock::now();
    fs::create_directories(out_ / "inputs");
    materialize(c_.model_config, out_ / "inputs" / "model_config.json");
    materialize(c_.tokenizer, out_ / "inputs" / "tokenizer.json");
    stage("data", [&] { data(); });
    stage("clean", [&] { clean(); });
    bool finished = false;
    stage("sft", [&] { finished = sft(); });
    if (!finished) {
      std::cerr << "demo: interrupted; run the same command again to continue from the last checkpoint\n";
      return 130;
    }
    gt::eval::Report report;
    stage("eval", [&] { report = evaluate(out_ / "sft" / "final", out_ / "eval-sft"); });
    bool with_grpo = false;
    if (c_.grpo_enabled) {
      bool grpo_finished = false;
      stage("grpo", [&] { grpo_finished = grpo(); });
      if (!grpo_finished) {
        std::cerr << "demo: interrupted; run the same command again to continue from the last checkpoint\n";
        return 130;
      }
      // The checkpoint the dev-set eval chose (docs/spec.md §6: the published run kept step 500 of 570).
      stage("eval grpo", [&] {
        evaluate(grpo_.best_dir.empty() ? grpo_.final_dir : grpo_.best_dir, out_ / "eval-grpo");
        with_grpo = true;
      });
    }
    const double total = std::chrono::duration<double>(Clock::now() - t0).count();
    write_report(report, with_grpo, total);
    std::cout << held_out(report, with_grpo) << "\nreport: " << (out_ / "report.md").string() << "\n";
    return 0;
  }

 private:
  template <class F>
  void stage(const std::string& name, F f) {
    ++stage_;
    std::cerr << "demo: [" << stage_ << "/" << (c_.grpo_enabled ? 6 : 4) << "] " << name << "\n";
    const auto t = Clock::now();
    f();
    times_.emplace_back(name, std::chrono::duration<double>(Clock::now() - t).count());
    std::cerr << "demo: " << name << " done in " << seconds(times_.back().second) << "\n";
  }

  fs::path data_dir() const { return out_ / "data"; }

  std::string domains_text() const {
    std::string t;
    for (const auto& d : c_.synth.domains) t += (t.empty() ? ", domains " : ", ") + d;
    return t;
  }

  void data() {
    const json settings = {{"train", c_.synth.train},
                           {"heldout", c_.synth.heldout},
                           {"dev", c_.synth.dev},
                           {"seed", c_.synth.seed},
                           {"num_plugins", c_.synth.num_plugins},
                           {"domains", c_.synth.domains},
                           {"candidate_params", candidate_params_name(c_.synth.candidate_params)}};
    const fs::path marker = data_dir() / "synth.json";
    if (fs::exists(marker) && fs::exists(data_dir() / "train.jsonl") && fs::exists(data_dir() / "heldout.jsonl") &&
        fs::exists(data_dir() / "dev.jsonl") && gt::read_json_file(marker) == settings) {
      std::cerr << "demo: reusing " << data_dir().string() << " (same synth settings)\n";
      return;
    }
    fs::create_directories(data_dir());
    const auto sets = gt::data::synth::synthesize(c_.synth);
    gt::data::write_samples(data_dir() / "train.jsonl", sets.train);
    gt::data::write_samples(data_dir() / "heldout.jsonl", sets.heldout);
    gt::data::write_samples(data_dir() / "dev.jsonl", sets.dev);
    gt::write_file_atomically(marker, settings.dump(2) + "\n");
    std::cerr << "demo: synthesized " << sets.train.size() << " train, " << sets.heldout.size() << " held-out and "
              << sets.dev.size() << " dev samples into " << data_dir().string() << "\n";
  }

  void clean() {
    for (const char* set : {"train", "heldout", "dev"}) {
      const auto r = gt::data::clean_file(data_dir() / (std::string(set) + ".jsonl"),
                                          data_dir() / (std::string(set) + ".clean.jsonl"),
                                          data_dir() / (std::string(set) + ".clean_report.json"));
      std::cerr << "demo: " << set << ": kept " << r.kept << " of " << r.total << " samples\n";
      cleaned_.emplace_back(set, r.kept, r.total);
    }
  }

  gt::train::SftConfig sft_config() const {
    json j = c_.sft;
    j["model"] = {{"config", (out_ / "inputs" / "model_config.json").string()}, {"storage", "f32"}};
    j["tokenizer"] = (out_ / "inputs" / "tokenizer.json").string();
    json data = {{"train", (data_dir() / "train.clean.jsonl").string()},
                 {"heldout", (data_dir() / "heldout.clean.jsonl").string()}};
    j["data"] = data;
    j["out_dir"] = (out_ / "sft").string();
    return gt::train::parse_sft_config(j, c_.source + " (sft)");
  }

  bool sft() {
    const gt::train::SftConfig sc = sft_config();
    gt::train::SftRunOptions o;
    o.resume = gt::train::CheckpointDir(sc.out_dir + "/checkpoints", sc.keep_last).latest().has_value();
    o.stop_flag = &gt::cli::stop_on_signals();
    o.progress = &std::cerr;
    sft_ = gt::train::run_sft(sc, o);
    return sft_.finished;
  }

  bool grpo() {
    json j = c_.grpo;
    j["model"] = {{"dir", (out_ / "sft" / "final").string()}};
    // GRPO keeps the checkpoint with the best Mean on the dev set, so the held-out eval that follows is of a model
    // nothing chose by the held-out set.
    j["data"] = {{"train", (data_dir() / "train.clean.jsonl").string()},
                 {"heldout", (data_dir() / "dev.clean.jsonl").string()}};
    j["out_dir"] = (out_ / "grpo").string();
    const gt::rl::GrpoConfig gc = gt::rl::parse_grpo_config(j, c_.source + " (grpo)");
    gt::rl::GrpoRunOptions o;
    o.resume = gt::train::CheckpointDir(gc.out_dir + "/checkpoints", gc.keep_last).latest().has_value();
    o.stop_flag = &gt::cli::stop_on_signals();
    o.progress = &std::cerr;
    grpo_ = gt::rl::run_grpo(gc, o);
    return grpo_.finished;
  }

  // Greedy, with the same settings for every model, so the evals compare.
  gt::eval::Report evaluate(const fs::path& model, const fs::path& out) {
    gt::eval::ModelEval e;
    e.model_dir = model.string();
    e.data = (data_dir() / "heldout.clean.jsonl").string();
    e.out_dir = out.string();
    e.source.max_new_tokens = c_.eval_max_new_tokens;
    e.progress = &std::cerr;
    return gt::eval::evaluate_model_dir(e);
  }

  // The SFT table, or SFT and SFT+GRPO side by side with their per-sample comparison (from the files the two
  // evals wrote).
  std::string held_out(const gt::eval::Report& report, bool with_grpo) const {
    if (!with_grpo) return gt::eval::markdown_table(report);
    return gt::eval::markdown_compare_reports(out_ / "eval-sft" / "report.json", "SFT",
                                              out_ / "eval-grpo" / "report.json", "SFT+GRPO");
  }

  // The training curves of each run that logged (train/metric_plots.h), redrawn so the report's links hold.
  std::string curves() const {
    std::ostringstream md;
    for (const auto& [run, name] : {std::pair{"sft", "SFT"}, std::pair{"grpo", "GRPO"}}) {
      const fs::path metrics = out_ / run / "metrics.jsonl";
      if (!fs::exists(metrics)) continue;
      md << "\n## " << name << " curves\n\n";
      for (const std::string& f : gt::train::write_metric_plots(metrics.string(), (out_ / run / "plots").string()))
        md << "![" << name << " " << fs::path(f).stem().string() << "](" << run << "/plots/" << f << ")\n";
    }
    return md.str();
  }

  void write_report(const gt::eval::Report& report, bool with_grpo,
                    double total) const {
    std::ostringstream md;
    md << "# gemma-tune demo\n\n";
    md << "Synthetic plan data, cleaned; the tiny Gemma-4-shaped model (" << c_.model_config
       << ") fine-tuned from scratch; greedy eval on the held-out set.\n\n## Stages\n\n| stage | time | result |\n"
       << "|---|---:|---|\n";
    for (const auto& [name, t] : times_) {
      md << "| " << name << " | " << seconds(t) << " | ";
      if (name == "data")
        md << c_.synth.train << " train, " << c_.synth.heldout << " held-out, " << c_.synth.dev << " dev (seed "
           << c_.synth.seed << ", num_plugins " << c_.synth.num_plugins << domains_text() << "): `data/`";
      if (name == "clean")
        for (size_t i = 0; i < cleaned_.size(); ++i) {
          const auto& [set, kept, n] = cleaned_[i];
          md << (i ? "; " : "") << set << " kept " << kept << " of " << n;
        }
      if (name == "sft") {
        md << sft_.step << " steps";
        if (sft_.last_loss != 0) md << ", last loss " << std::fixed << std::setprecision(4) << sft_.last_loss;
        if (sft_.heldout_loss) md << ", held-out loss " << *sft_.heldout_loss;
        md << ": `sft/metrics.jsonl`, `sft/final/`";
      }
      if (name == "eval") md << "`eval-sft/report.md`, `eval-sft/completions.jsonl`";
      if (name == "grpo") {
        md << grpo_.step << " steps";
        if (grpo_.best_mean) md << ", best dev Mean " << std::fixed << std::setprecision(3) << *grpo_.best_mean
                                << " at step " << grpo_.best_step;
        md << ": `grpo/metrics.jsonl`, `grpo/best/`";
      }
      if (name == "eval grpo") md << "`eval-grpo/report.md`, `eval-grpo/completions.jsonl`";
      md << " |\n";
    }
    md << "| total | " << seconds(total) << " | |\n\n## Held-out eval\n\n"
       << held_out(report, with_grpo) << curves();
    gt::write_file_atomically(out_ / "report.md", md.str());
  }

  DemoConfig c_;
  fs::path out_;
  int stage_ = 0;
  std::vector<std::pair<std::string, double>> times_;
  std::vector<std::tuple<std::string, size_t, size_t>> cleaned_;
  gt::train::SftResult sft_;
  gt::rl::GrpoResult grpo_;
};

gt::cli::Registrar demo_reg("demo", [](CLI::App& app) {
  auto* sub = app.add_subcommand(
      "demo", "The main job: synthesize data, clean it, fine-tune the tiny model from scratch, evaluate, report");
  auto config = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto restart = std::make_shared<bool>(false);
  auto print = std::make_shared<bool>(false);
  auto grpo = std::make_shared<bool>(false);
  sub->add_option("--config", *config, "Demo config (JSON); default: the embedded configs/demo.json")
      ->check(CLI::ExistingFile);
  sub->add_option("--out", *out, "Out dir (default: the config's out_dir, runs/demo)");
  sub->add_flag("--restart", *restart, "Delete the out dir first instead of continuing in it");
  sub->add_flag("--grpo", *grpo, "Add the GRPO stage (and its eval) after SFT, as \"grpo\": {\"enabled\": true} does");
  sub->add_flag("--print-config", *print, "Print the embedded default config and exit");
  gt::cli::set_job(sub, [=] {
    if (*print) {
      std::cout << embedded("demo.json");
      return 0;
    }
    DemoConfig c = config->empty()
                       ? parse_demo_config(json::parse(embedded("demo.json")), "embedded demo.json")
                       : parse_demo_config(gt::train::read_config_file(*config, "the demo config"), *config);
    if (!out->empty()) c.out_dir = *out;
    if (*grpo) c.grpo_enabled = true;
    if (*restart) fs::remove_all(c.out_dir);
    return Demo(std::move(c)).run();
  });
});

}  // namespace
