// AdamW on the GPU (adamw_gpu.h): adamw.cpp's element update, one thread per element.
#include "optim/cuda/adamw_gpu.h"
#include "optim/cuda/weights.cuh"

namespace gt::optim_detail {

namespace {

constexpr int kThreads = 256;

// adamw_element (adamw_step.h), with g read from the dense gradient or the entry holding the row (0 without one).
__global__ void adamw_kernel(DevWeights w, const float* g, const int64_t* entry_of, int64_t C, float* M, float* V,
                             float* Vmax, int64_t n, AdamWCoeffs k) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    float gi;
    if (entry_of) {
      const int64_t e = entry_of[i / C];
      gi = e >= 0 ? g[e * C + i % C] : 0.0f;
    } else {
      gi = g[i];
    }
    adamw_element(w, M, V, Vmax, i, gi, k);
  }
}

}  // namespace

void gpu_adamw(const GpuWeights& w, const Tensor& dense, const SparseRows& sparse, const Tensor& m, const Tensor& v,
               const Tensor& vmax, const AdamWCoeffs& k) {
  const Tensor& p = w.param;
  const int64_t n = p.numel();
  if (n == 0) return;
  Tensor entry_of;
  const float* g = nullptr;
  int64_t C = 1;
  if (sparse.defined()) {
    entry_of = entry_map(sparse.rows.to(Device::CUDA), p.size(0));
    g = static_cast<const float*>(sparse.values.raw());
    C = p.size(1);
  } else {
    g = static_cast<const float*>(dense.raw());
  }
  const unsigned blocks = std::min<unsigned>(cuda::blocks_for(n, kThreads), 4096u);
  adamw_kernel<<<blocks, kThreads, 0, cuda::stream()>>>(
      dev(w), g, entry_of.defined() ? static_cast<const int64_t*>(entry_of.raw()) : nullptr, C,
      static_cast<float*>(m.raw()), static_cast<float*>(v.raw()), vmax.defined() ? static_cast<float*>(vmax.raw()) : nullptr,
      n, k);
  cuda::check_launch("adamw");
}

}  // namespace gt::optim_detail
