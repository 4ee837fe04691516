#pragma once
// Device-side helpers shared by the .cu files: bf16/f32 loads and stores, dtype dispatch, block reductions.
#include <cuda_bf16.h>

#include <type_traits>

#include "autograd/cuda/internal.h"
#include "autograd/tensor.h"

namespace gt::cuda {

using bf16_t = __nv_bfloat16;

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(bf16_t v) { return __bfloat162float(v); }

template <class T>
__device__ __forceinline__ T from_f(float v) {
  if constexpr (std::is_same_v<T, bf16_t>) return __float2bfloat16_rn(v);
  else return v;
}

template <class T>
struct Tag {
  using type = T;
};

// Calls f(Tag<T>{}) with T the device type of a float dtype.
template <class F>
void with_float(DType t, const char* what, F&& f) {
  if (t == DType::F32) f(Tag<float>{});
  else if (t == DType::BF16) f(Tag<bf16_t>{});
  else fail(what, ": float tensor expected, got ", dtype_name(t));
}

// Calls f(Tag<T>{}) for any dtype.
template <class F>
void with_any(DType t, F&& f) {
  switch (t) {
    case DType::F32: f(Tag<float>{}); return;
    case DType::BF16: f(Tag<bf16_t>{}); return;
    case DType::I32: f(Tag<int32_t>{}); return;
    case DType::I64: f(Tag<int64_t>{}); return;
  }
}

template <class T>
const T* cptr(const Tensor& t) {
  return static_cast<const T*>(t.raw());
}
template <class T>
T* mptr(const Tensor& t) {
  return static_cast<T*>(t.raw());
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result. The order of the
// additions depends only on blockDim, so results are reproducible.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // part[] may still be read by a previous call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  v = lane < nw ? part[lane] : 0.f;
  return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v) {
  __shared__ float part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  v = lane < nw ? part[lane] : -INFINITY;
  return warp_max(v);
}

}  // namespace gt::cuda
