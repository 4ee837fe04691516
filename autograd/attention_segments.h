#pragma once
// Segment ids of packed sequences (several samples in one row, attention kept inside each): the one test the CPU
// attention (ops/attention.cpp) and the CUDA kernels (cuda/attention_rows.cuh) share, so a rewrite of either keeps
// the meaning.
#include <cstdint>

#include "base/host_device.h"

namespace gt {

// seg: [B, S] segment ids, row-major, or null (the whole row is one segment). The query at position qpos of batch
// entry b may see the key at position kpos only when both carry the same id; causality and the sliding window
// apply on top.
GT_HOST_DEVICE inline bool same_segment(const int32_t* seg, int64_t S, int64_t b, int64_t qpos, int64_t kpos) {
  return !seg || seg[b * S + kpos] == seg[b * S + qpos];
}

}  // namespace gt
