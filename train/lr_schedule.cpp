#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace gt::train {

double lr_factor(ScheduleKind kind, int64_t warmup, int64_t total, int64_t done) {
  if (done < warmup) return static_cast<double>(done) / static_cast<double>(std::max<int64_t>(1, warmup));
  const double progress =
      static_cast<double>(done - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  switch (kind) {
    case ScheduleKind::None: return 1.0;
    case ScheduleKind::Linear: return std::max(0.0, 1.0 - progress);
    case ScheduleKind::Cosine: return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * progress)));
  }
  return 1.0;
}

}  // namespace gt::train
