#pragma once
// Learning-rate schedules as transformers defines them (get_constant_schedule_with_warmup,
// get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup with half a cycle).
#include <cstdint>

#include "train/config_reader.h"

namespace gt::train {

// The factor on the peak lr for the optimizer step taken after `done` completed steps of `total`. As in
// transformers, warmup ramps from 0 (the first step of a warmup runs at lr 0) and linear and cosine reach 0 at
// `total`.
double lr_factor(ScheduleKind kind, int64_t warmup, int64_t total, int64_t done);

}  // namespace gt::train
