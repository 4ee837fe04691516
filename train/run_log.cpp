#include "train/run_log.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "train/metric_names.h"

namespace gt::train {

namespace {

bool has_event_files(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) return true;
  return false;
}

}  // namespace

MetricsLog::MetricsLog(const std::string& path, std::optional<int64_t> keep_through) : path_(path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const bool replay = keep_through && !has_event_files(dir);
  events_.emplace(dir.string());
  std::string kept;
  if (keep_through && std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      nlohmann::json r;
      if (try_parse_json(line, r) || !r.is_object()) continue;
      if (r.value("step", int64_t{0}) > *keep_through) continue;
      kept += line + "\n";
      if (replay) events_->write(r.value("step", int64_t{0}), tensorboard_scalars(with_current_names(r)));
    }
  }
  write_file_atomically(path, [&](std::ostream& os) { os << kept; });
  out_.open(path, std::ios::app);
  GT_CHECK(out_, path, ": cannot open the metrics log for writing");
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << "\n";
  out_.flush();
  GT_CHECK(out_, path_, ": write failed");
  events_->write(record.value("step", int64_t{0}), tensorboard_scalars(record));
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s % 3600 / 60);
  else
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
  return buf;
}

}  // namespace gt::train
