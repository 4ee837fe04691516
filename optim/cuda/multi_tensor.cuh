#pragma once
// What a multi-tensor launch needs (internal to optim/cuda): a table of per-parameter jobs on the device, and the
// lookup from a block of a launch to its job. A launch covers the blocks of many parameters laid end to end (job p
// owns the blocks from its first block to the next job's), so one launch replaces one per parameter.
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "autograd/cuda/internal.h"
#include "autograd/tensor.h"

namespace gt::optim_detail {

// The index of the job that owns `block` of a stage, from that stage's first blocks (first[p]: job p's first
// block; nondecreasing): the last job whose first block is at or before it (jobs with no block in this stage start
// where the next one starts, so they are never picked). The array is a few KB, so the search runs in L1.
__device__ __forceinline__ int job_of(const int64_t* first, int count, int64_t block) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (first[mid] <= block)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

// The job table and each stage's first blocks on the device (one copy; the stream orders it before the launches).
// `first` holds stages x jobs entries, stage-major. Keep the object alive until the launches have run.
template <class Job>
class JobTable {
 public:
  JobTable(const std::vector<Job>& jobs, const std::vector<int64_t>& first) {
    static_assert(std::is_trivially_copyable_v<Job>);
    const size_t job_bytes = (jobs.size() * sizeof(Job) + 7) / 8 * 8, first_bytes = first.size() * 8;
    std::vector<char> host(job_bytes + first_bytes);
    std::memcpy(host.data(), jobs.data(), jobs.size() * sizeof(Job));
    std::memcpy(host.data() + job_bytes, first.data(), first_bytes);
    buffer_ = Tensor::empty({static_cast<int64_t>(host.size() / 8)}, DType::I64, Device::CUDA);
    cuda::copy_to_device(buffer_.raw(), host.data(), host.size());
    jobs_ = static_cast<const Job*>(buffer_.raw());
    first_ = reinterpret_cast<const int64_t*>(static_cast<const char*>(buffer_.raw()) + job_bytes);
    count_ = static_cast<int>(jobs.size());
  }
  const Job* jobs() const { return jobs_; }
  const int64_t* first(int stage) const { return first_ + static_cast<size_t>(stage) * count_; }
  int count() const { return count_; }

 private:
  Tensor buffer_;
  const Job* jobs_ = nullptr;
  const int64_t* first_ = nullptr;
  int count_ = 0;
};

// Bump allocation of the step's scratch from one device buffer: offsets first (sizes in bytes, 8-byte aligned),
// then pointers once the buffer exists.
class Scratch {
 public:
  size_t reserve(int64_t bytes) {
    const size_t at = used_;
    used_ += (static_cast<size_t>(bytes) + 7) / 8 * 8;
    return at;
  }
  void allocate() {
    buffer_ = Tensor::empty({static_cast<int64_t>(std::max<size_t>(used_, 8) / 8)}, DType::I64, Device::CUDA);
  }
  template <class T>
  T* at(size_t offset) const {
    return reinterpret_cast<T*>(static_cast<char*>(buffer_.raw()) + offset);
  }

 private:
  size_t used_ = 0;
  Tensor buffer_;
};

}  // namespace gt::optim_detail
