#include "cli/command.h"

#include <csignal>
#include <iostream>
#include <map>

#include "autograd/cuda/runtime.h"
#include "base/error.h"

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
  o.progress = &std::cerr;
  return o;
}

std::shared_ptr<TrainerArgs> add_trainer_options(CLI::App* sub, const std::string& config_help) {
  auto a = std::make_shared<TrainerArgs>();
  sub->add_option("--config", a->config, config_help)->required()->check(CLI::ExistingFile);
  sub->add_flag("--resume", a->resume, "Continue from the latest checkpoint in the config's out_dir");
  sub->add_option("--stop-after", a->stop_after, "Stop after this step (with a checkpoint there); --resume continues")
      ->check(CLI::NonNegativeNumber);
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
