#pragma once
// A trainer's metrics file (JSON Lines, one record a line, flushed as written) with its TensorBoard event file, and
// the pieces of its progress line.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "train/tensorboard.h"

namespace gt::train {

class MetricsLog {
 public:
  // A fresh run (keep_through unset) starts an empty file. A resumed run keeps the records up to and including
  // step keep_through and drops the rest, which the interrupted run wrote after its last checkpoint (a torn last
  // line included), so the file reads as one unbroken run. Either way a new TensorBoard event file starts beside it
  // (the old ones are kept: TensorBoard reads every file of the folder, and drops the steps a resumed run writes again
  // when it meets their lower step). Resuming a run that wrote no event file (one from before they existed), the kept
  // records go into the new file first, under their current names (train/metric_names.h).
  MetricsLog(const std::string& path, std::optional<int64_t> keep_through);
  // One line of the metrics file, and the record's scalars (tensorboard_scalars) at its step in the event file.
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }
  const std::string& events_path() const { return events_->path(); }

 private:
  std::string path_;
  std::ofstream out_;
  std::optional<EventFile> events_;
};

// "42s", "3m07s", "2h05m", "3d04h".
std::string format_duration(double seconds);

}  // namespace gt::train
