// Adafactor on the GPU (adafactor_gpu.h): the CPU step's arithmetic, one kernel per stage, sums in double over
// fixed blocks. The clip divisor and the row mean stay on the device, so a step never waits for the host.
#include <algorithm>
#include <cmath>

#include "optim/cuda/adafactor_gpu.h"
#include "optim/cuda/weights.cuh"

namespace gt::optim_detail {

using cuda::blocks_for;
using cuda::check_launch;
using cuda::stream;

namespace {

constexpr int kThreads = 256;
constexpr int kReduceThreads = 1024;
constexpr int64_t kChunkRows = 64;  // rows per partial column sum

__device__ __forceinline__ double block_sum_d(double v) {
  __shared__ double part[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  if (lane == 0) part[warp] = v;
  __syncthreads();
  v = lane < nw ? part[lane] : 0.0;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void weights_sq_kernel(DevWeights w, int64_t n, double* partial) {
  double s = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const double x = w.get(i);
    s += x * x;
  }
  s = block_sum_d(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// out[0] = sum of the partials (one block, fixed order).
__global__ void sum_kernel(const double* partial, int64_t n, double* out) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += partial[i];
  s = block_sum_d(s);
  if (threadIdx.x == 0) out[0] = s;
}

// clip_div = max(1, sqrt(sumsq / n) / threshold), from the summed partials.
__global__ void clip_kernel(const double* partial, int64_t parts, double n, double threshold, float* clip_div) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < parts; i += blockDim.x) s += partial[i];
  s = block_sum_d(s);
  if (threadIdx.x == 0) clip_div[0] = static_cast<float>(fmax(1.0, sqrt(s / n) / threshold));
}

__global__ void unfactored_stats(float* V, const float* g, int64_t n, AdafactorCoeffs k, double* partial) {
  const float eps1 = static_cast<float>(k.eps1);
  double s = 0;
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < n; j += int64_t{gridDim.x} * blockDim.x) {
    V[j] = V[j] * k.beta2 + k.one_minus_beta2 * (g[j] * g[j] + eps1);
    const float u = (1.0f / sqrtf(V[j])) * g[j];
    s += static_cast<double>(u) * u;
  }
  s = block_sum_d(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void unfactored_apply(DevWeights w, const float* V, const float* g, float* m, int64_t n, AdafactorCoeffs k,
                                 const float* clip_div) {
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < n; j += int64_t{gridDim.x} * blockDim.x)
    adafactor_element(w, m, j, (1.0f / sqrtf(V[j])) * g[j], k, *clip_div);
}

// Entry e of a factored gradient holds matrix row row(e) (index null: e itself).
__device__ __forceinline__ int64_t row_of(const int64_t* index, int64_t e) { return index ? index[e] : e; }

__global__ void row_sq_kernel(const float* g, int64_t C, double* row_sq) {
  const float* r = g + blockIdx.x * C;
  double s = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) s += r[j] * r[j];
  s = block_sum_d(s);
  if (threadIdx.x == 0) row_sq[blockIdx.x] = s;
}

__global__ void col_partial_kernel(const float* g, int64_t count, int64_t C, double* partial) {
  const int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (j >= C) return;
  const int64_t e0 = blockIdx.y * kChunkRows, e1 = min(count, e0 + kChunkRows);
  double s = 0;
  for (int64_t e = e0; e < e1; ++e) {
    const float q = g[e * C + j] * g[e * C + j];
    s += q;
  }
  partial[blockIdx.y * C + j] = s;
}

__global__ void col_update_kernel(const double* partial, int64_t chunks, int64_t N, int64_t C, AdafactorCoeffs k,
                                  float* Cs, float* cf) {
  const int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (j >= C) return;
  double s = 0;
  for (int64_t c = 0; c < chunks; ++c) s += partial[c * C + j];
  const double dn = static_cast<double>(N);
  const float mean = static_cast<float>((s + dn * k.eps1) / dn);
  Cs[j] = Cs[j] * k.beta2 + k.one_minus_beta2 * mean;
  cf[j] = 1.0f / sqrtf(Cs[j]);
}

// entry_of: null for a dense gradient (row r is entry r), else the entry holding row r or -1.
__global__ void row_update_kernel(float* R, int64_t N, int64_t C, const int64_t* entry_of, const double* row_sq,
                                  AdafactorCoeffs k) {
  const double dc = static_cast<double>(C);
  for (int64_t r = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; r < N; r += int64_t{gridDim.x} * blockDim.x) {
    const int64_t e = entry_of ? entry_of[r] : r;
    const double sq = e >= 0 ? row_sq[e] : 0.0;
    R[r] = R[r] * k.beta2 + k.one_minus_beta2 * static_cast<float>((sq + dc * k.eps1) / dc);
  }
}

__global__ void scatter_entries(const int64_t* index, int64_t count, int64_t* entry_of) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < count; e += int64_t{gridDim.x} * blockDim.x)
    entry_of[index[e]] = e;
}

// mean_r = sum(R) / N in double, rounded to float (the CPU's chunked_sum / N).
__global__ void mean_kernel(const float* R, int64_t N, float* mean_r) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) s += R[i];
  s = block_sum_d(s);
  if (threadIdx.x == 0) mean_r[0] = static_cast<float>(s / static_cast<double>(N));
}

__global__ void row_factor_kernel(const float* g, const int64_t* index, int64_t C, const float* R, const float* mean_r,
                                  const float* cf, float* rf, double* usq) {
  const int64_t e = blockIdx.x;
  const float r = 1.0f / sqrtf(R[row_of(index, e)] / *mean_r);
  const float* ge = g + e * C;
  double s = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const float u = (r * cf[j]) * ge[j];
    s += static_cast<double>(u) * u;
  }
  s = block_sum_d(s);
  if (threadIdx.x == 0) {
    rf[e] = r;
    usq[e] = s;
  }
}

// What both factored apply kernels share: the gradient, factors and coefficients of one matrix of the batch.
struct FactoredApply {
  DevWeights w;
  const float* g;  // [entries, C]
  int64_t C;
  int64_t base;  // the matrix's first element in the weights
  const float* rf;
  const float* cf;
  float* m;
  AdafactorCoeffs k;
  const float* clip_div;

  // The update of element j of entry e, before clipping.
  __device__ float update(int64_t e, int64_t j) const { return (rf[e] * cf[j]) * g[e * C + j]; }
  __device__ void apply(int64_t at, float u) const { adafactor_element(w, m, base + at, u, k, *clip_div); }
};

// The entries' elements only (rows without a gradient do not change without momentum or weight decay).
__global__ void factored_apply_entries(FactoredApply a, const int64_t* index, int64_t count) {
  const int64_t total = count * a.C;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t e = i / a.C, j = i % a.C;
    a.apply(row_of(index, e) * a.C + j, a.update(e, j));
  }
}

// Every element of the matrix (momentum or weight decay move rows without a gradient too).
__global__ void factored_apply_all(FactoredApply a, const int64_t* entry_of, int64_t N) {
  const int64_t total = N * a.C;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / a.C, j = i % a.C;
    const int64_t e = entry_of ? entry_of[r] : r;
    a.apply(i, e >= 0 ? a.update(e, j) : 0.0f);
  }
}

Tensor dev_empty(int64_t n, DType t) { return Tensor::empty({std::max<int64_t>(n, 1)}, t, Device::CUDA); }
// Scratch for n doubles (an 8-byte dtype's storage).
Tensor dev_doubles(int64_t n) { return dev_empty(n, DType::I64); }

unsigned grid_for(int64_t n) { return std::min<unsigned>(blocks_for(n, kThreads), 4096u); }

}  // namespace

Tensor entry_map(const Tensor& index, int64_t N) {
  const int64_t count = index.numel();
  Tensor entry_of = dev_empty(N, DType::I64);
  cuda::check(cudaMemsetAsync(entry_of.raw(), 0xff, static_cast<size_t>(N) * 8, stream()), "entry map");
  if (count > 0)
    scatter_entries<<<grid_for(count), kThreads, 0, stream()>>>(static_cast<const int64_t*>(index.raw()), count,
                                                                static_cast<int64_t*>(entry_of.raw()));
  check_launch("entry map");
  return entry_of;
}

double gpu_weights_rms(const GpuWeights& w) {
  const int64_t n = w.param.numel();
  if (n == 0) return 0.0;
  const unsigned blocks = grid_for(n);
  Tensor partial = dev_doubles(blocks), total = dev_doubles(1);
  weights_sq_kernel<<<blocks, kThreads, 0, stream()>>>(dev(w), n, static_cast<double*>(partial.raw()));
  sum_kernel<<<1, kReduceThreads, 0, stream()>>>(static_cast<const double*>(partial.raw()), blocks,
                                                 static_cast<double*>(total.raw()));
  check_launch("adafactor weights_rms");
  double s = 0;
  cuda::copy_to_host(&s, total.raw(), sizeof(double));
  return std::sqrt(s / static_cast<double>(n));
}

void gpu_adafactor_unfactored(const GpuWeights& w, const Tensor& grad, const Tensor& v, const Tensor& m,
                              const AdafactorCoeffs& k, double clip_threshold) {
  const int64_t n = grad.numel();
  if (n == 0) return;
  const unsigned blocks = grid_for(n);
  Tensor partial = dev_doubles(blocks), clip = dev_empty(1, DType::F32);
  unfactored_stats<<<blocks, kThreads, 0, stream()>>>(static_cast<float*>(v.raw()),
                                                      static_cast<const float*>(grad.raw()), n, k,
                                                      static_cast<double*>(partial.raw()));
  clip_kernel<<<1, kReduceThreads, 0, stream()>>>(static_cast<const double*>(partial.raw()), blocks,
                                                  static_cast<double>(n), clip_threshold,
                                                  static_cast<float*>(clip.raw()));
  unfactored_apply<<<blocks, kThreads, 0, stream()>>>(dev(w), static_cast<const float*>(v.raw()),
                                                      static_cast<const float*>(grad.raw()),
                                                      m.defined() ? static_cast<float*>(m.raw()) : nullptr, n, k,
                                                      static_cast<const float*>(clip.raw()));
  check_launch("adafactor (unfactored)");
}

void gpu_adafactor_factored(const GpuWeights& w, const Tensor& dense, const SparseRows& sparse, const Tensor& row_state,
                            const Tensor& col_state, const Tensor& m, const AdafactorCoeffs& k, double clip_threshold) {
  const Tensor& p = w.param;
  const int64_t n = p.numel();
  if (n == 0) return;
  const int64_t N = p.size(-2), C = p.size(-1), batches = n / (N * C);
  const bool is_sparse = sparse.defined();
  const int64_t count = is_sparse ? sparse.rows.numel() : N;
  const float* g = static_cast<const float*>((is_sparse ? sparse.values : dense).raw());
  Tensor index, entry_of;
  if (is_sparse) {
    index = sparse.rows.to(Device::CUDA);
    entry_of = entry_map(index, N);
  }
  const int64_t* idx = is_sparse ? static_cast<const int64_t*>(index.raw()) : nullptr;
  const int64_t* eo = is_sparse ? static_cast<const int64_t*>(entry_of.raw()) : nullptr;
  const int64_t chunks = std::max<int64_t>(1, (count + kChunkRows - 1) / kChunkRows);
  GT_CHECK(chunks < 65536 && count < (int64_t{1} << 31), "adafactor: ", count, " rows is too many for one step");
  Tensor row_sq = dev_doubles(count), col_part = dev_doubles(chunks * C);
  Tensor rf = dev_empty(batches * count, DType::F32), cf = dev_empty(batches * C, DType::F32);
  Tensor usq = dev_doubles(batches * count), mean_r = dev_empty(1, DType::F32);
  Tensor clip = dev_empty(1, DType::F32);
  double* row_sq_p = static_cast<double*>(row_sq.raw());
  double* usq_p = static_cast<double*>(usq.raw());
  float* R = static_cast<float*>(row_state.raw());
  float* Cs = static_cast<float*>(col_state.raw());
  for (int64_t b = 0; b < batches; ++b) {
    const float* gb = g + b * N * C;
    float* rfb = static_cast<float*>(rf.raw()) + b * count;
    float* cfb = static_cast<float*>(cf.raw()) + b * C;
    if (count > 0) {
      row_sq_kernel<<<static_cast<unsigned>(count), kThreads, 0, stream()>>>(gb, C, row_sq_p);
      col_partial_kernel<<<dim3(blocks_for(C, kThreads), static_cast<unsigned>(chunks)), kThreads, 0, stream()>>>(
          gb, count, C, static_cast<double*>(col_part.raw()));
    } else {
      cuda::fill_zero(col_part.raw(), static_cast<size_t>(C) * 8);
    }
    col_update_kernel<<<blocks_for(C, kThreads), kThreads, 0, stream()>>>(
        static_cast<const double*>(col_part.raw()), count > 0 ? chunks : 1, N, C, k, Cs + b * C, cfb);
    row_update_kernel<<<grid_for(N), kThreads, 0, stream()>>>(R + b * N, N, C, eo, row_sq_p, k);
    mean_kernel<<<1, kReduceThreads, 0, stream()>>>(R + b * N, N, static_cast<float*>(mean_r.raw()));
    if (count > 0)
      row_factor_kernel<<<static_cast<unsigned>(count), kThreads, 0, stream()>>>(
          gb, idx, C, R + b * N, static_cast<const float*>(mean_r.raw()), cfb, rfb, usq_p + b * count);
  }
  clip_kernel<<<1, kReduceThreads, 0, stream()>>>(usq_p, batches * count, static_cast<double>(n), clip_threshold,
                                                  static_cast<float*>(clip.raw()));
  float* mp = m.defined() ? static_cast<float*>(m.raw()) : nullptr;
  for (int64_t b = 0; b < batches; ++b) {
    const FactoredApply a{dev(w), g + b * N * C, C, b * N * C, static_cast<const float*>(rf.raw()) + b * count,
                          static_cast<const float*>(cf.raw()) + b * C, mp, k, static_cast<const float*>(clip.raw())};
    if (k.momentum || k.decay)
      factored_apply_all<<<grid_for(N * C), kThreads, 0, stream()>>>(a, eo, N);
    else if (count > 0)
      factored_apply_entries<<<grid_for(count * C), kThreads, 0, stream()>>>(a, idx, count);
  }
  check_launch("adafactor (factored)");
}

}  // namespace gt::optim_detail
