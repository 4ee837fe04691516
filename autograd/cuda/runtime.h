#pragma once
// The CUDA runtime as the rest of the framework sees it: device memory from a caching allocator, one stream,
// copies, and cuBLASLt's handle. No CUDA header is included here, so any file may include it.
//
// In a build without CUDA (GT_WITH_CUDA unset) available() is false and every other function throws: no CUDA
// tensor can exist there, so ops never reach them. GT_CUDA_API declares a function for the CUDA build and defines
// it as such a thrower otherwise, so callers need no #ifdef.
#include <cstddef>
#include <cstdint>

namespace gt::cuda {

[[noreturn]] void not_built();  // throws gt::Error: "this build has no CUDA support"

#if GT_WITH_CUDA
#define GT_CUDA_API(...) __VA_ARGS__;
#else
#define GT_CUDA_API(...) \
  [[noreturn]] inline __VA_ARGS__ { ::gt::cuda::not_built(); }
#endif

#if GT_WITH_CUDA
inline constexpr bool built = true;
bool available();  // a device is visible and usable
#else
inline constexpr bool built = false;
inline bool available() { return false; }
#endif

// Caching allocator: blocks are kept in free lists by size class and handed out again without cudaMalloc.
// Small requests (up to 1 MiB) round up to 512 bytes, larger ones to 2 MiB; a block is reused only for requests
// of its own class, so a steady training step allocates nothing after its first run. When cudaMalloc fails the
// cache is released and the call retried once; then a gt::Error names the size and the memory in use.
struct MemoryStats {
  size_t in_use = 0;        // bytes handed out (rounded sizes)
  size_t peak_in_use = 0;   // the most ever handed out at once (since reset_peak)
  size_t reserved = 0;      // bytes held from the driver: in use plus cached
  size_t peak_reserved = 0;
  int64_t device_allocs = 0;  // cudaMalloc calls so far
};
GT_CUDA_API(void* allocate(size_t bytes))
GT_CUDA_API(void release(void* p))
GT_CUDA_API(MemoryStats memory_stats())
GT_CUDA_API(void reset_peak())
GT_CUDA_API(void empty_cache())  // returns the cached blocks to the driver

// All work runs on one stream, in order; these copies are ordered with it. Copies to the host wait for it.
GT_CUDA_API(void copy_to_device(void* dst, const void* src, size_t bytes))
GT_CUDA_API(void copy_to_host(void* dst, const void* src, size_t bytes))
GT_CUDA_API(void copy_on_device(void* dst, const void* src, size_t bytes))
GT_CUDA_API(void fill_zero(void* dst, size_t bytes))
GT_CUDA_API(void synchronize())  // waits for all queued work; raises any asynchronous kernel error

}  // namespace gt::cuda
