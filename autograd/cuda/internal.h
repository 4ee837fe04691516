#pragma once
// What the CUDA sources of autograd/cuda share: the stream, error checks, launch sizes. Included only by files
// that are compiled when CUDA is present.
#include <cuda_runtime.h>

#include <cstdint>

#include "autograd/cuda/runtime.h"
#include "base/error.h"

namespace gt::cuda {

cudaStream_t stream();

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail("CUDA error in ", what, ": ", cudaGetErrorString(e));
}
// After a launch: a bad configuration shows here; errors inside the kernel show at the next synchronisation.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

inline unsigned blocks_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > (1 << 30) ? (1 << 30) : b));
}

}  // namespace gt::cuda
