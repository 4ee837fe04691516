// Device memory (a caching allocator by size class), the one stream, and copies (runtime.h).
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "autograd/cuda/internal.h"

namespace gt::cuda {

namespace {

constexpr size_t kSmallLimit = size_t{1} << 20;
constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t{2} << 20;

size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t r = bytes <= kSmallLimit ? kSmallRound : kLargeRound;
  return (bytes + r - 1) / r * r;
}

struct Allocator {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_lists;  // size class -> cached blocks
  std::unordered_map<void*, size_t> live;           // block -> size class
  MemoryStats stats;

  void release_cache() {
    for (auto& [size, blocks] : free_lists)
      for (void* p : blocks) {
        cudaFree(p);
        stats.reserved -= size;
      }
    free_lists.clear();
  }
};

Allocator& allocator() {
  static Allocator* a = new Allocator();  // never destroyed: tensors may be freed during static destruction
  return *a;
}

struct Runtime {
  cudaStream_t stream = nullptr;
  bool ok = false;
  Runtime() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
      cudaGetLastError();  // clear the sticky "no device" error
      return;
    }
    check(cudaSetDevice(0), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    ok = true;
  }
};

Runtime& runtime() {
  static Runtime* r = new Runtime();
  return *r;
}

Runtime& ready() {
  Runtime& r = runtime();
  GT_CHECK(r.ok, "CUDA: no usable device is visible (cudaGetDeviceCount found none)");
  return r;
}

}  // namespace

bool available() { return runtime().ok; }

cudaStream_t stream() { return ready().stream; }

void* allocate(size_t bytes) {
  ready();
  Allocator& a = allocator();
  const size_t size = size_class(bytes);
  std::lock_guard<std::mutex> lock(a.mu);
  void* p = nullptr;
  auto it = a.free_lists.find(size);
  if (it != a.free_lists.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      // Cached blocks of other classes may be what is missing: give them back and try once more.
      check(cudaStreamSynchronize(ready().stream), "cudaStreamSynchronize");
      a.release_cache();
      e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      fail("CUDA: out of device memory allocating ", bytes, " bytes (", a.stats.in_use, " bytes in use, ",
           a.stats.reserved, " reserved): ", cudaGetErrorString(e));
    }
    ++a.stats.device_allocs;
    a.stats.reserved += size;
    if (a.stats.reserved > a.stats.peak_reserved) a.stats.peak_reserved = a.stats.reserved;
  }
  a.live[p] = size;
  a.stats.in_use += size;
  if (a.stats.in_use > a.stats.peak_in_use) a.stats.peak_in_use = a.stats.in_use;
  return p;
}

// A block goes back to its free list at once: the single stream runs in order, so the next user's kernels run
// after every kernel queued before this release.
void release(void* p) {
  if (!p) return;
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  auto it = a.live.find(p);
  if (it == a.live.end()) fail("CUDA: release of a pointer this allocator did not hand out");
  a.stats.in_use -= it->second;
  a.free_lists[it->second].push_back(p);
  a.live.erase(it);
}

MemoryStats memory_stats() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  return a.stats;
}

void reset_peak() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  a.stats.peak_in_use = a.stats.in_use;
  a.stats.peak_reserved = a.stats.reserved;
}

void empty_cache() {
  synchronize();
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mu);
  a.release_cache();
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  // From pageable host memory the call returns once the source has been read, so `src` may be freed after it.
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()), "copy to device");
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()), "copy to host");
  check(cudaStreamSynchronize(stream()), "copy to host (synchronize)");
}

void copy_on_device(void* dst, const void* src, size_t bytes) {
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()), "copy on device");
}

void fill_zero(void* dst, size_t bytes) {
  if (!bytes) return;
  check(cudaMemsetAsync(dst, 0, bytes, stream()), "fill_zero");
}

void synchronize() { check(cudaStreamSynchronize(stream()), "synchronize"); }

}  // namespace gt::cuda
