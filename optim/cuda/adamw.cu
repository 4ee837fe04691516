// AdamW on the GPU (adamw_gpu.h): adamw.cpp's element update, one launch for every parameter of the step.
#include <algorithm>

#include "optim/cuda/adamw_gpu.h"
#include "optim/cuda/multi_tensor.cuh"
#include "optim/cuda/weights.cuh"

namespace gt::optim_detail {

namespace {

constexpr int kThreads = 256;

struct Job {
  DevWeights w;
  const float* g;
  const int64_t* entry_of;  // sparse: the entry holding each row, or -1 (null: dense)
  int64_t C;
  float *M, *V, *Vmax;
  int64_t n, grid;
  AdamWCoeffs k;
};

// adamw_element (adamw_step.h), with g read from the dense gradient or the entry holding the row (0 without one).
__global__ void adamw_kernel(const Job* jobs, const int64_t* first, int count) {
  const int job = job_of(first, count, blockIdx.x);
  const Job& p = jobs[job];
  const int64_t v = blockIdx.x - first[job];
  for (int64_t i = v * blockDim.x + threadIdx.x; i < p.n; i += p.grid * blockDim.x) {
    float gi;
    if (p.entry_of) {
      const int64_t e = p.entry_of[i / p.C];
      gi = e >= 0 ? p.g[e * p.C + i % p.C] : 0.0f;
    } else {
      gi = p.g[i];
    }
    adamw_element(p.w, p.M, p.V, p.Vmax, i, gi, p.k);
  }
}

}  // namespace

void gpu_adamw(const std::vector<AdamWGpuStep>& params) {
  std::vector<Job> jobs;
  std::vector<Tensor> keep;  // the sparse steps' row maps, alive until the launch has run
  int64_t total = 0;
  std::vector<int64_t> first;
  for (const AdamWGpuStep& s : params) {
    const Tensor& p = s.w.param;
    if (p.numel() == 0) continue;
    Job j{};
    j.w = dev(s.w);
    j.C = 1;
    if (s.sparse.defined()) {
      keep.push_back(entry_map(s.sparse.rows.to(Device::CUDA), p.size(0)));
      j.entry_of = static_cast<const int64_t*>(keep.back().raw());
      j.g = static_cast<const float*>(s.sparse.values.raw());
      j.C = p.size(1);
    } else {
      j.g = static_cast<const float*>(s.dense.raw());
    }
    j.M = static_cast<float*>(s.m.raw());
    j.V = static_cast<float*>(s.v.raw());
    j.Vmax = s.vmax.defined() ? static_cast<float*>(s.vmax.raw()) : nullptr;
    j.n = p.numel();
    j.grid = std::min<int64_t>(cuda::blocks_for(j.n, kThreads), 4096);
    j.k = s.k;
    first.push_back(total);
    total += j.grid;
    jobs.push_back(j);
  }
  if (jobs.empty()) return;
  GT_CHECK(total < (int64_t{1} << 31) && jobs.size() < (size_t{1} << 31), "adamw: ", jobs.size(),
           " parameters in one step");
  const JobTable<Job> table(jobs, first);
  adamw_kernel<<<static_cast<unsigned>(total), kThreads, 0, cuda::stream()>>>(table.jobs(), table.first(0),
                                                                              table.count());
  cuda::check_launch("adamw");
}

}  // namespace gt::optim_detail
