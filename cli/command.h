#pragma once
// Subcommand registry: each cli/cmd_*.cpp defines one static Registrar, so adding a subcommand touches no other file.
#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "train/config_names.h"
#include "train/training_run.h"

namespace gt::cli {

struct Command {
  std::string name;
  std::function<void(CLI::App&)> attach;  // adds the subcommand and its options; sets the callback to run
};

std::vector<Command>& commands();
// Runs the subcommand that was selected on the command line; returns the exit code.
int run_selected(CLI::App& app);
// A subcommand's job: it returns the process exit code.
void set_job(CLI::App* sub, std::function<int()> job);

// Range checks whose message prints the bound ("must be >= 1, got 0"), where CLI11's own print DBL_MAX in full.
CLI::Validator at_least(double min);
CLI::Validator above(double min);

// What parse_options says before CLI11's own message: each unknown option with the nearest known one
// ("unknown option '--conifg' (did you mean '--config'?)").
std::vector<std::string> unknown_option_hints(const CLI::App& app);

// How much a command prints: --quiet, errors and the final result only; --verbose, a progress line every step.
enum class LogLevel : uint8_t { Quiet, Normal, Verbose };
void add_log_level_options(CLI::App* sub, LogLevel& level);
std::ostream* progress_stream(LogLevel level);  // stderr, or null when quiet

// A model folder that is not there is an error that says where one comes from (an SFT run's final/, or a download),
// rather than "cannot open"; `what` names the setting ("--model", "configs/grpo.json: 'model.dir'").
void require_model_dir(const std::string& dir, const std::string& what);

// `--device cpu|cuda` (default cpu): where the model's weights live and its ops run.
void add_device_option(CLI::App* sub, std::string& device);
Device parse_device(const std::string& device);
// For trainers: from now on the first SIGINT or SIGTERM sets the returned flag (finish the step, checkpoint, stop)
// and restores the default action, so a second one ends the process at once (the run then resumes from its last
// checkpoint).
const std::atomic<bool>& stop_on_signals();

// What every trainer command takes: --config FILE (JSON or YAML), --resume, --stop-after N, --device, the log level,
// and overrides of the config's settings: --set key=value (repeatable) and TRL's style --learning_rate 1e-5.
struct TrainerArgs {
  std::string config;
  bool resume = false;
  int64_t stop_after = 0;
  std::string device = "cpu";
  std::vector<std::string> sets;
  LogLevel log = LogLevel::Normal;
  CLI::App* sub = nullptr;
  // The config file with the overrides applied (--set ones first, then the flags, each in the order given).
  nlohmann::json config_json(const char* what) const;
  // What the log level changes in a run's settings (--verbose: progress every step), and the settings printed at
  // the start (unless --quiet), each with TRL's name and default where ours differs.
  void adjust(train::RunSettings& s) const;
  void announce(const nlohmann::json& effective, train::TrainerKind kind) const;
  // The model folder and the data files are there, or an error says what to run first.
  void check_inputs(const train::TrainerConfig& c) const;
  // The run options they give, stopping on signals and with progress on stderr.
  train::RunOptions run_options() const;
  // A trainer's exit status: 0 when it finished or stopped where --stop-after said, else 130 (interrupted).
  int exit_status(bool finished) const { return finished || stop_after > 0 ? 0 : 130; }
};
std::shared_ptr<TrainerArgs> add_trainer_options(CLI::App* sub, const std::string& config_help);

struct Registrar {
  Registrar(std::string name, std::function<void(CLI::App&)> attach) {
    commands().push_back({std::move(name), std::move(attach)});
  }
};

}  // namespace gt::cli
