#include "cli/command.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "autograd/cuda/runtime.h"
#include "base/error.h"
#include "base/nearest.h"
#include "train/config_overrides.h"
#include "train/config_reader.h"

namespace gt::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);
}

std::map<CLI::App*, std::function<int()>>& jobs() {
  static std::map<CLI::App*, std::function<int()>> j;
  return j;
}
}  // namespace

std::vector<Command>& commands() {
  static std::vector<Command> c;
  return c;
}

namespace {

std::string number_text(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

CLI::Validator bound(double min, bool inclusive) {
  const std::string op = inclusive ? ">= " : "> ";
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(s, v)) return "must be a number, got " + s;
        if (inclusive ? v >= min : v > min) return {};
        return "must be " + op + number_text(min) + ", got " + s;
      },
      op + number_text(min));
}

// The option names (without dashes) of `sub`, to suggest from.
std::vector<std::string> option_names(const CLI::App& sub) {
  std::vector<std::string> names;
  for (const CLI::Option* o : sub.get_options())
    for (const std::string& n : o->get_lnames()) names.push_back(n);
  return names;
}

}  // namespace

CLI::Validator at_least(double min) { return bound(min, true); }
CLI::Validator above(double min) { return bound(min, false); }

std::vector<std::string> unknown_option_hints(const CLI::App& app) {
  const auto subs = app.get_subcommands();
  const CLI::App& sub = subs.empty() ? app : *subs.back();
  std::vector<std::string> lines;
  for (const std::string& arg : app.remaining(true)) {
    if (arg.size() < 3 || arg.rfind("--", 0) != 0) continue;
    const std::string name = arg.substr(2, arg.find('=') - 2);
    const auto near = nearest_name(name, option_names(sub));
    lines.push_back("unknown option '--" + name + "'" + (near ? " (did you mean '--" + *near + "'?)" : ""));
  }
  return lines;
}

void add_device_option(CLI::App* sub, std::string& device) {
  sub->add_option("--device", device, "cpu or cuda: where the weights live and the model runs")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
}

Device parse_device(const std::string& device) {
  if (device == "cpu") return Device::CPU;
  GT_CHECK(device == "cuda", "--device must be cpu or cuda, got \"", device, "\"");
  GT_CHECK(cuda::available(), "--device cuda: ",
           cuda::built ? "no CUDA device is visible" : "this build has no CUDA support (no CUDA compiler was found)");
  return Device::CUDA;
}

const std::atomic<bool>& stop_on_signals() {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  return g_stop;
}

train::RunOptions TrainerArgs::run_options() const {
  train::RunOptions o;
  o.resume = resume;
  o.stop_after = stop_after;
  o.device = parse_device(device);
  o.stop_flag = &stop_on_signals();
  o.progress = progress_stream(log);
  return o;
}

namespace {

// A TRL-style flag that is more likely a misspelt option of the command (--resum, --stop_after) than a setting.
void refuse_misspelt_options(const std::vector<train::Override>& flags, const CLI::App& sub) {
  std::vector<std::string> settings;
  for (const train::KeyName& k : train::key_names()) {
    settings.push_back(k.hf);
    if (k.ours) settings.push_back(k.ours);
  }
  for (const train::Override& f : flags) {
    if (std::find(settings.begin(), settings.end(), f.key) != settings.end()) continue;
    std::string dashed = f.key;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    const auto near = nearest(dashed, option_names(sub), 1);
    if (near || f.key.find('-') != std::string::npos)
      fail("unknown option '--", f.key, "'", near ? " (did you mean '--" + *near + "'?)" : std::string());
  }
}

}  // namespace

nlohmann::json TrainerArgs::config_json(const char* what) const {
  std::vector<train::Override> overrides;
  for (const std::string& s : sets) overrides.push_back(train::parse_set(s));
  const std::vector<train::Override> flags = train::parse_flag_overrides(sub->remaining());
  refuse_misspelt_options(flags, *sub);
  overrides.insert(overrides.end(), flags.begin(), flags.end());
  nlohmann::json j = train::read_config_file(config, what);
  train::apply_overrides(j, overrides);
  return j;
}

void TrainerArgs::adjust(train::RunSettings& s) const {
  if (log == LogLevel::Verbose) s.progress_every_s = 0;
}

void TrainerArgs::announce(const nlohmann::json& effective, train::TrainerKind kind) const {
  if (log == LogLevel::Quiet) return;
  std::cerr << (kind == train::TrainerKind::Sft ? "sft" : "grpo") << ": settings (" << config
            << ", overrides and defaults; saved as " << train::kRunConfigFile << "):\n";
  train::print_settings(std::cerr, effective, kind);
}

void require_model_dir(const std::string& dir, const std::string& what) {
  if (std::filesystem::is_directory(dir)) return;
  fail(what, " ", dir, " does not exist. It is a Hugging Face model folder: the final/ of a run (`gemma-tune sft "
       "--config configs/sft.json` writes runs/sft/final), or a model downloaded from the Hub (README); "
       "`gemma-tune demo` trains a tiny one from nothing");
}

void TrainerArgs::check_inputs(const train::TrainerConfig& c) const {
  if (!c.model.dir.empty()) require_model_dir(c.model.dir, config + ": 'model.dir'");
  for (const auto& [key, file] : {std::pair{"data.train", c.train_data}, {"data.heldout", c.heldout_data}})
    if (!file.empty() && !std::filesystem::exists(file))
      fail(config, ": '", key, "' ", file, " does not exist; write samples with `gemma-tune data synth --out ",
           std::filesystem::path(file).parent_path().string(), " --train 5000 --heldout 100 --seed 1` (README, "
           "\"Plan data\"), or point it at your own");
}

void add_log_level_options(CLI::App* sub, LogLevel& level) {
  auto* quiet = sub->add_flag_callback("--quiet", [&level] { level = LogLevel::Quiet; },
                                       "Print errors and the final result only");
  auto* verbose = sub->add_flag_callback("--verbose", [&level] { level = LogLevel::Verbose; },
                                         "Print a progress line every step");
  quiet->excludes(verbose);
}

std::ostream* progress_stream(LogLevel level) { return level == LogLevel::Quiet ? nullptr : &std::cerr; }

std::shared_ptr<TrainerArgs> add_trainer_options(CLI::App* sub, const std::string& config_help) {
  auto a = std::make_shared<TrainerArgs>();
  a->sub = sub;
  sub->add_option("--config", a->config, config_help)->required()->check(CLI::ExistingFile);
  sub->add_option("--set", a->sets, "Override a setting of the config: key=value, dotted for nested keys "
                                    "(repeatable); TRL's style --learning_rate 1e-5 works too (docs/config.md)")
      ->type_name("KEY=VALUE");
  add_log_level_options(sub, a->log);
  // The rest are TRL-style setting flags (config_json).
  sub->allow_extras();
  sub->add_flag("--resume", a->resume, "Continue from the latest checkpoint in the config's out_dir");
  sub->add_option("--stop-after", a->stop_after, "Stop after this step (with a checkpoint there); --resume continues")
      ->check(at_least(0));
  add_device_option(sub, a->device);
  return a;
}

void set_job(CLI::App* sub, std::function<int()> job) { jobs()[sub] = std::move(job); }

int run_selected(CLI::App& app) {
  for (auto* sub : app.get_subcommands()) {
    auto it = jobs().find(sub);
    if (it != jobs().end()) return it->second();
  }
  return 0;
}

}  // namespace gt::cli
