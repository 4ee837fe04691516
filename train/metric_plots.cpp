#include "train/metric_plots.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/json_file.h"
#include "base/svg_plot.h"
#include "train/metric_names.h"

namespace gt::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Per record type and key: the (step, value) points of every numeric field.
using Curves = std::map<std::string, std::map<std::string, Points>>;

Curves read_curves(const std::string& path) {
  Curves c;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    json r;
    if (try_parse_json(line, r) || !r.is_object()) continue;  // a torn last line of a killed run
    r = with_current_names(r);
    const std::string type = r.value("type", "");
    if (type != "train" && type != "eval") continue;
    const auto step = static_cast<double>(r.value("step", int64_t{0}));
    for (const auto& [k, v] : r.items())
      if (v.is_number() && k != "step") c[type][k].emplace_back(step, v.get<double>());
  }
  return c;
}

struct Chart {
  const char* file;
  const char* title;
  const char* y_label;
  const char* type;
  std::vector<std::string> keys;  // a key ending in '*' takes every key with that prefix
};

const std::vector<Chart>& charts() {
  static const std::vector<Chart> list = {
      {"loss.svg", "Training loss", "loss", "train", {"loss"}},
      {"learning_rate.svg", "Learning rate", "learning_rate", "train", {"learning_rate"}},
      {"grad_norm.svg", "Gradient norm (before clipping)", "grad_norm", "train", {"grad_norm"}},
      {"eval_loss.svg", "Held-out loss", "eval_loss", "eval", {"eval_loss"}},
      {"reward.svg", "Mean reward of the batch", "reward", "train", {"reward"}},
      {"reward_terms.svg", "Reward terms (batch means)", "rewards/<term>/mean", "train", {"rewards/*"}},
      {"kl.svg", "KL to the reference model", "kl", "train", {"kl"}},
      {"clip_ratio.svg", "Clipped token fraction", "clip_ratio", "train", {"clip_ratio/*"}},
      {"eval_mean.svg", "Held-out (dev) Mean", "eval_mean", "eval", {"eval_mean"}},
  };
  return list;
}

std::vector<Series> series_of(const Chart& chart, const Curves& curves) {
  std::vector<Series> out;
  const auto type = curves.find(chart.type);
  if (type == curves.end()) return out;
  for (const std::string& key : chart.keys) {
    const bool prefix = !key.empty() && key.back() == '*';
    const std::string stem = prefix ? key.substr(0, key.size() - 1) : key;
    for (const auto& [k, points] : type->second)
      if (prefix ? k.rfind(stem, 0) == 0 : k == key) out.push_back({k, series_color(out.size()), points});
  }
  return out;
}

}  // namespace

std::vector<std::string> write_metric_plots(const std::string& metrics_path, const std::string& plots_dir) {
  const Curves curves = read_curves(metrics_path);
  std::vector<std::string> written;
  for (const Chart& chart : charts()) {
    const std::vector<Series> series = series_of(chart, curves);
    if (series.empty()) continue;
    fs::create_directories(plots_dir);
    write_file_atomically((fs::path(plots_dir) / chart.file).string(),
                          line_chart_svg({chart.title, "step", chart.y_label}, series));
    written.push_back(chart.file);
  }
  return written;
}

}  // namespace gt::train
