#pragma once
// Device-side pieces the optimizer kernels share (internal to optim/cuda): the accessor that reads and writes an
// f32 parameter or a bf16 one with or without its f32 master (nearest or the CPU's stochastic rounding), and the
// map from a table's rows to the entries of its row-sparse gradient.
#include <cstdint>

#include "autograd/cuda/device_math.cuh"
#include "optim/cuda/gpu_weights.h"

namespace gt::optim_detail {

__device__ __forceinline__ uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct DevWeights {
  float* f32 = nullptr;
  float* master = nullptr;
  cuda::bf16_t* p = nullptr;
  bool stochastic = false;
  uint64_t key = 0;
  int* non_finite = nullptr;

  __device__ float get(int64_t i) const { return f32 ? f32[i] : master ? master[i] : __bfloat162float(p[i]); }
  // Any thread that writes a NaN or an infinity (in bf16: after rounding) sets *non_finite; all store 1.
  __device__ void set(int64_t i, float v) const {
    const uint32_t u = __float_as_uint(v);
    if (f32) {
      f32[i] = v;
      if ((u & 0x7f800000u) == 0x7f800000u && non_finite) *non_finite = 1;
      return;
    }
    if (master) master[i] = v;
    cuda::bf16_t b;
    if (stochastic && (u & 0x7f800000u) != 0x7f800000u) {
      const uint32_t noise = static_cast<uint32_t>(mix64(key ^ static_cast<uint64_t>(i)) >> 48);
      b = __ushort_as_bfloat16(static_cast<unsigned short>((u + noise) >> 16));
    } else {
      b = __float2bfloat16_rn(v);
    }
    p[i] = b;
    if ((__bfloat16_as_ushort(b) & 0x7f80u) == 0x7f80u && non_finite) *non_finite = 1;
  }
};

inline DevWeights dev(const GpuWeights& w) {
  DevWeights d;
  if (w.param.dtype() == DType::F32) {
    d.f32 = static_cast<float*>(w.param.raw());
  } else {
    d.p = static_cast<cuda::bf16_t*>(w.param.raw());
    if (w.master.defined()) d.master = static_cast<float*>(w.master.raw());
  }
  d.stochastic = w.stochastic;
  d.key = w.key;
  d.non_finite = w.non_finite;
  return d;
}

// entry_of[r] = the entry of `index` (sorted unique rows, i64 on the device) that holds row r, or -1: i64 [N] on
// the device (adafactor.cu).
Tensor entry_map(const Tensor& index, int64_t N);

}  // namespace gt::optim_detail
