#pragma once
// A run's training curves as SVG line charts (base/svg_plot.h), drawn from its metrics file: SFT's loss,
// learning_rate, grad_norm and eval_loss; GRPO's reward, rewards/<term>/mean, kl, clip_ratio/* and eval_mean (the
// held-out Mean). One file a chart that has data, in plots/ of the out dir; old records are read under their current
// names (train/metric_names.h).
#include <string>
#include <vector>

namespace gt::train {

// Writes the charts into `plots_dir` and returns their file names ("loss.svg", ...), in the order above.
std::vector<std::string> write_metric_plots(const std::string& metrics_path, const std::string& plots_dir);

}  // namespace gt::train
