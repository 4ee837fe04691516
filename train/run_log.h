#pragma once
// A trainer's metrics file (JSON Lines, one record a line, flushed as written) and the pieces of its progress line.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace gt::train {

class MetricsLog {
 public:
  // A fresh run (keep_through unset) starts an empty file. A resumed run keeps the records up to and including
  // step keep_through and drops the rest, which the interrupted run wrote after its last checkpoint (a torn last
  // line included), so the file reads as one unbroken run.
  MetricsLog(const std::string& path, std::optional<int64_t> keep_through);
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// "42s", "3m07s", "2h05m", "3d04h".
std::string format_duration(double seconds);

}  // namespace gt::train
