// Adafactor on the GPU (adafactor_gpu.h): the CPU step's arithmetic in six multi-tensor launches, sums in double
// over fixed blocks. The clip divisors and the row means stay on the device, so a step never waits for the host.
//
// Stages, each one launch over every parameter of the step (multi_tensor.cuh):
//   kStats  (256 threads)  factored: the sum of squares of each gradient row (a block per row) and the column sums
//                          in partials of 64 rows; unfactored: V and the partial sums of U^2 (a grid-stride pass)
//   kState  (256)          factored: the column state and its factor 1/sqrt(C), the row state R
//   kMean   (1024)         factored: mean(R) of each matrix (a block per matrix)
//   kFactor (256)          factored: each row's factor and its sum of U^2 (a block per gradient row)
//   kClip   (1024)         every parameter: clip_div = max(1, RMS(U) / threshold) (a block per parameter)
//   kApply  (256)          every parameter: the element update (adafactor_step.h)
#include <algorithm>
#include <array>
#include <cmath>

#include "optim/cuda/adafactor_gpu.h"
#include "optim/cuda/multi_tensor.cuh"
#include "optim/cuda/weights.cuh"

namespace gt::optim_detail {

using cuda::blocks_for;
using cuda::check_launch;
using cuda::stream;

namespace {

constexpr int kThreads = 256;
constexpr int kReduceThreads = 1024;
constexpr int64_t kChunkRows = 64;  // rows per partial column sum
constexpr int64_t kMaxGrid = 4096;  // the most blocks a grid-stride pass of one parameter uses
// The most blocks a per-row stage gives one parameter. A row's sum is one block's reduction in a fixed order
// whichever block takes the row, so this changes no bit; fewer, longer blocks spend less on finding their job.
constexpr int64_t kMaxRowGrid = 256;

enum Stage { kStats, kState, kMean, kFactor, kClip, kApply, kStages };

int64_t grid_for(int64_t n) { return std::min<int64_t>(blocks_for(n, kThreads), kMaxGrid); }

// One parameter's step as the kernels see it. Factored parameters are `batches` matrices [N, C] whose gradient has
// `count` rows each (N when dense; the listed rows when sparse, with index[e] the row of entry e and entry_of[r] the
// entry of row r or -1). Unfactored ones are n elements with V in R.
struct Job {
  DevWeights w;
  const float* g;
  const int64_t* index;
  const int64_t* entry_of;
  float* R;
  float* Cs;
  float* m;
  AdafactorCoeffs k;
  bool factored, all_rows;  // all_rows: momentum or weight decay move rows without a gradient too
  int64_t n, batches, N, C, count, chunks, col_blocks, row_blocks;
  int64_t row_grid;  // factored: blocks of the per-row stages, each taking every row_grid-th gradient row
  int64_t grid;  // unfactored: the blocks of the grid-stride stats pass
  // Scratch: row_sq and usq [batches * count] (unfactored: usq holds the grid's partial sums), col_part
  // [batches * chunks * C], rf [batches * count], cf [batches * C], mean_r [batches], clip [1].
  double *row_sq, *col_part, *usq;
  float *rf, *cf, *mean_r, *clip;
};

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

// The sum of x[0..n) over the block in double, each thread taking every blockDim-th element.
template <class F>
__device__ __forceinline__ double block_sum_of(int64_t n, F x) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += x(i);
  return block_sum_d(s);
}

// Entry e of a factored gradient holds matrix row row(e) (index null: e itself).
__device__ __forceinline__ int64_t row_of(const int64_t* index, int64_t e) { return index ? index[e] : e; }

// Job p's block of this launch: the job and the block's index among the job's blocks.
#define GT_JOB_BLOCK                                 \
  const int job = job_of(first, count, blockIdx.x); \
  const Job& p = jobs[job];                          \
  int64_t v = blockIdx.x - first[job];

__global__ void stats_stage(const Job* jobs, const int64_t* first, int count) {
  GT_JOB_BLOCK
  if (!p.factored) {
    const float eps1 = static_cast<float>(p.k.eps1);
    float* V = p.R;
    double s = 0;
    for (int64_t j = v * blockDim.x + threadIdx.x; j < p.n; j += p.grid * blockDim.x) {
      V[j] = V[j] * p.k.beta2 + p.k.one_minus_beta2 * (p.g[j] * p.g[j] + eps1);
      const float u = (1.0f / sqrtf(V[j])) * p.g[j];
      s += static_cast<double>(u) * u;
    }
    s = block_sum_d(s);
    if (threadIdx.x == 0) p.usq[v] = s;
    return;
  }
  if (v < p.row_grid) {  // gradient rows v, v + row_grid, ... (of batch row / count)
    for (int64_t q = v; q < p.batches * p.count; q += p.row_grid) {
      const float* r = p.g + q * p.C;
      const double s = block_sum_of(p.C, [&](int64_t j) { return static_cast<double>(r[j] * r[j]); });
      if (threadIdx.x == 0) p.row_sq[q] = s;
    }
    return;
  }
  v -= p.row_grid;  // column partials: batch, then chunk of rows, then column block
  const int64_t per_chunk = p.col_blocks, per_batch = p.chunks * per_chunk;
  const int64_t b = v / per_batch, chunk = v % per_batch / per_chunk;
  const int64_t j = (v % per_chunk) * blockDim.x + threadIdx.x;
  if (j >= p.C) return;
  const float* g = p.g + b * p.count * p.C;
  const int64_t e0 = chunk * kChunkRows, e1 = min(p.count, e0 + kChunkRows);
  double s = 0;
  for (int64_t e = e0; e < e1; ++e) {
    const float q = g[e * p.C + j] * g[e * p.C + j];
    s += q;
  }
  p.col_part[(b * p.chunks + chunk) * p.C + j] = s;
}

__global__ void state_stage(const Job* jobs, const int64_t* first, int count) {
  GT_JOB_BLOCK
  const AdafactorCoeffs& k = p.k;
  const int64_t col_total = p.batches * p.col_blocks;
  if (v < col_total) {  // column j of batch b: C = beta2 C + (1 - beta2) mean over rows of (G^2 + eps1)
    const int64_t b = v / p.col_blocks, j = (v % p.col_blocks) * blockDim.x + threadIdx.x;
    if (j >= p.C) return;
    double s = 0;
    if (p.count > 0)
      for (int64_t c = 0; c < p.chunks; ++c) s += p.col_part[(b * p.chunks + c) * p.C + j];
    const double dn = static_cast<double>(p.N);
    const float mean = static_cast<float>((s + dn * k.eps1) / dn);
    float& cs = p.Cs[b * p.C + j];
    cs = cs * k.beta2 + k.one_minus_beta2 * mean;
    p.cf[b * p.C + j] = 1.0f / sqrtf(cs);
    return;
  }
  v -= col_total;  // row r of batch b: R = beta2 R + (1 - beta2) mean over columns of (G^2 + eps1)
  const int64_t b = v / p.row_blocks, r = (v % p.row_blocks) * blockDim.x + threadIdx.x;
  if (r >= p.N) return;
  const int64_t e = p.entry_of ? p.entry_of[r] : r;
  const double sq = e >= 0 ? p.row_sq[b * p.count + e] : 0.0;
  const double dc = static_cast<double>(p.C);
  float& R = p.R[b * p.N + r];
  R = R * k.beta2 + k.one_minus_beta2 * static_cast<float>((sq + dc * k.eps1) / dc);
}

// mean_r = sum(R) / N in double, rounded to float (the CPU's chunked_sum / N).
__global__ void mean_stage(const Job* jobs, const int64_t* first, int count) {
  GT_JOB_BLOCK
  const int64_t b = v;
  const float* R = p.R + b * p.N;
  const double s = block_sum_of(p.N, [&](int64_t i) { return static_cast<double>(R[i]); });
  if (threadIdx.x == 0) p.mean_r[b] = static_cast<float>(s / static_cast<double>(p.N));
}

__global__ void factor_stage(const Job* jobs, const int64_t* first, int count) {
  GT_JOB_BLOCK
  const int64_t rows = p.batches * p.count;
  for (int64_t q = v; q < rows; q += p.row_grid) {  // gradient row q: entry e of batch b
    const int64_t b = q / p.count, e = q % p.count;
    const float r = 1.0f / sqrtf(p.R[b * p.N + row_of(p.index, e)] / p.mean_r[b]);
    const float* ge = p.g + q * p.C;
    const float* cf = p.cf + b * p.C;
    const double s = block_sum_of(p.C, [&](int64_t j) {
      const float u = (r * cf[j]) * ge[j];
      return static_cast<double>(u) * u;
    });
    if (threadIdx.x == 0) {
      p.rf[q] = r;
      p.usq[q] = s;
    }
  }
}

// clip_div = max(1, sqrt(sumsq / n) / threshold), from the partial sums in order.
__global__ void clip_stage(const Job* jobs, const int64_t* first, int count, double threshold) {
  const Job& p = jobs[job_of(first, count, blockIdx.x)];  // one block per job
  const int64_t parts = p.factored ? p.batches * p.count : p.grid;
  const double s = block_sum_of(parts, [&](int64_t i) { return p.usq[i]; });
  if (threadIdx.x == 0)
    p.clip[0] = static_cast<float>(fmax(1.0, sqrt(s / static_cast<double>(p.n)) / threshold));
}

// Element updates: unfactored elements with a grid stride, factored matrices a row per block and grid stride
// (the update is element-wise, so how the work is split does not change a bit).
__global__ void apply_stage(const Job* jobs, const int64_t* first, int count) {
  GT_JOB_BLOCK
  const float clip_div = *p.clip;
  if (!p.factored) {
    for (int64_t j = v * blockDim.x + threadIdx.x; j < p.n; j += p.grid * blockDim.x)
      adafactor_element(p.w, p.m, j, (1.0f / sqrtf(p.R[j])) * p.g[j], p.k, clip_div);
    return;
  }
  const int64_t rows = p.batches * (p.all_rows ? p.N : p.count);
  const int64_t stride = min(rows, kMaxGrid);
  for (int64_t q = v; q < rows; q += stride) {
    int64_t b, e, r;
    if (p.all_rows) {  // matrix row r; entry e holds its gradient, or none (u = 0)
      b = q / p.N;
      r = q % p.N;
      e = p.entry_of ? p.entry_of[r] : r;
    } else {  // gradient row e
      b = q / p.count;
      e = q % p.count;
      r = row_of(p.index, e);
    }
    const int64_t at = (b * p.N + r) * p.C;
    const float* cf = p.cf + b * p.C;
    const float* ge = e >= 0 ? p.g + (b * p.count + e) * p.C : nullptr;
    const float rf = e >= 0 ? p.rf[b * p.count + e] : 0.0f;
    for (int64_t j = threadIdx.x; j < p.C; j += blockDim.x)
      adafactor_element(p.w, p.m, at + j, ge ? (rf * cf[j]) * ge[j] : 0.0f, p.k, clip_div);
  }
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

__global__ void sum_kernel(const double* partial, int64_t n, double* out) {
  const double s = block_sum_of(n, [&](int64_t i) { return partial[i]; });
  if (threadIdx.x == 0) out[0] = s;
}

__global__ void scatter_entries(const int64_t* index, int64_t count, int64_t* entry_of) {
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < count; e += int64_t{gridDim.x} * blockDim.x)
    entry_of[index[e]] = e;
}

Tensor dev_empty(int64_t n, DType t) { return Tensor::empty({std::max<int64_t>(n, 1)}, t, Device::CUDA); }

// Job p's scratch (offsets, made pointers once the buffer exists) and its blocks in each stage.
using StageBlocks = std::array<int64_t, kStages>;
void plan(Job& p, const AdafactorGpuStep& s, Scratch& scratch, std::vector<size_t>& offsets, StageBlocks& blocks) {
  const Tensor& param = s.w.param;
  p.w = dev(s.w);
  p.k = s.k;
  p.n = param.numel();
  p.factored = param.dim() >= 2;
  p.all_rows = s.k.momentum || s.k.decay;
  p.R = static_cast<float*>(s.row_state.raw());
  p.Cs = p.factored ? static_cast<float*>(s.col_state.raw()) : nullptr;
  p.m = s.m.defined() ? static_cast<float*>(s.m.raw()) : nullptr;
  blocks = {};
  if (!p.factored) {
    p.g = static_cast<const float*>(s.dense.raw());
    p.grid = grid_for(p.n);
    blocks[kStats] = p.grid;
    blocks[kClip] = 1;
    blocks[kApply] = p.grid;
    offsets = {scratch.reserve(p.grid * 8)};
  } else {
    p.N = param.size(-2);
    p.C = param.size(-1);
    p.batches = p.n / (p.N * p.C);
    p.count = s.sparse.defined() ? s.sparse.rows.numel() : p.N;
    p.g = static_cast<const float*>((s.sparse.defined() ? s.sparse.values : s.dense).raw());
    p.chunks = std::max<int64_t>(1, (p.count + kChunkRows - 1) / kChunkRows);
    GT_CHECK(p.chunks < 65536 && p.count < (int64_t{1} << 31), "adafactor: ", p.count, " rows is too many for one step");
    p.col_blocks = blocks_for(p.C, kThreads);
    p.row_blocks = blocks_for(p.N, kThreads);
    const int64_t rows = p.batches * p.count;
    p.row_grid = std::min<int64_t>(rows, kMaxRowGrid);
    blocks[kStats] = p.row_grid + (p.count > 0 ? p.batches * p.chunks * p.col_blocks : 0);
    blocks[kState] = p.batches * (p.col_blocks + p.row_blocks);
    blocks[kMean] = p.batches;
    blocks[kFactor] = p.row_grid;
    blocks[kClip] = 1;
    blocks[kApply] = std::min<int64_t>(p.batches * (p.all_rows ? p.N : p.count), kMaxGrid);
    offsets = {scratch.reserve(rows * 8), scratch.reserve(p.batches * p.chunks * p.C * 8), scratch.reserve(rows * 8),
               scratch.reserve(rows * 4), scratch.reserve(p.batches * p.C * 4), scratch.reserve(p.batches * 4)};
  }
  offsets.push_back(scratch.reserve(4));  // clip
}

void launch(Stage st, int64_t blocks, int threads, const JobTable<Job>& t, double threshold = 0) {
  if (blocks == 0) return;
  GT_CHECK(blocks < (int64_t{1} << 31), "adafactor: ", blocks, " blocks in one launch");
  const unsigned g = static_cast<unsigned>(blocks);
  const Job* j = t.jobs();
  const int64_t* f = t.first(st);
  const int n = t.count();
  switch (st) {
    case kStats: stats_stage<<<g, threads, 0, stream()>>>(j, f, n); break;
    case kState: state_stage<<<g, threads, 0, stream()>>>(j, f, n); break;
    case kMean: mean_stage<<<g, threads, 0, stream()>>>(j, f, n); break;
    case kFactor: factor_stage<<<g, threads, 0, stream()>>>(j, f, n); break;
    case kClip: clip_stage<<<g, threads, 0, stream()>>>(j, f, n, threshold); break;
    default: apply_stage<<<g, threads, 0, stream()>>>(j, f, n); break;
  }
  check_launch("adafactor");
}

}  // namespace

Tensor entry_map(const Tensor& index, int64_t N) {
  const int64_t count = index.numel();
  Tensor entry_of = dev_empty(N, DType::I64);
  cuda::check(cudaMemsetAsync(entry_of.raw(), 0xff, static_cast<size_t>(N) * 8, stream()), "entry map");
  if (count > 0)
    scatter_entries<<<static_cast<unsigned>(grid_for(count)), kThreads, 0, stream()>>>(
        static_cast<const int64_t*>(index.raw()), count, static_cast<int64_t*>(entry_of.raw()));
  check_launch("entry map");
  return entry_of;
}

double gpu_weights_rms(const GpuWeights& w) {
  const int64_t n = w.param.numel();
  if (n == 0) return 0.0;
  const unsigned blocks = static_cast<unsigned>(grid_for(n));
  Tensor partial = dev_empty(blocks, DType::I64), total = dev_empty(1, DType::I64);  // doubles
  weights_sq_kernel<<<blocks, kThreads, 0, stream()>>>(dev(w), n, static_cast<double*>(partial.raw()));
  sum_kernel<<<1, kReduceThreads, 0, stream()>>>(static_cast<const double*>(partial.raw()), blocks,
                                                 static_cast<double*>(total.raw()));
  check_launch("adafactor weights_rms");
  double s = 0;
  cuda::copy_to_host(&s, total.raw(), sizeof(double));
  return std::sqrt(s / static_cast<double>(n));
}

void gpu_adafactor(const std::vector<AdafactorGpuStep>& params, double clip_threshold) {
  std::vector<Job> jobs;
  std::vector<std::vector<size_t>> offsets;
  std::vector<StageBlocks> blocks;
  std::vector<Tensor> keep;  // the sparse steps' row ids and row maps, alive until the launches have run
  Scratch scratch;
  for (const AdafactorGpuStep& s : params) {
    if (s.w.param.numel() == 0) continue;
    Job p{};
    offsets.emplace_back();
    blocks.emplace_back();
    if (s.sparse.defined()) {
      keep.push_back(s.sparse.rows.to(Device::CUDA));
      keep.push_back(entry_map(keep.back(), s.w.param.size(0)));
      p.index = static_cast<const int64_t*>(keep[keep.size() - 2].raw());
      p.entry_of = static_cast<const int64_t*>(keep.back().raw());
    }
    plan(p, s, scratch, offsets.back(), blocks.back());
    jobs.push_back(p);
  }
  if (jobs.empty()) return;
  GT_CHECK(jobs.size() < (size_t{1} << 31), "adafactor: ", jobs.size(), " parameters in one step");
  scratch.allocate();
  int64_t total[kStages] = {};
  std::vector<int64_t> first(kStages * jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job& p = jobs[i];
    const std::vector<size_t>& o = offsets[i];
    if (p.factored) {
      p.row_sq = scratch.at<double>(o[0]);
      p.col_part = scratch.at<double>(o[1]);
      p.usq = scratch.at<double>(o[2]);
      p.rf = scratch.at<float>(o[3]);
      p.cf = scratch.at<float>(o[4]);
      p.mean_r = scratch.at<float>(o[5]);
    } else {
      p.usq = scratch.at<double>(o[0]);
    }
    p.clip = scratch.at<float>(o.back());
    for (int st = 0; st < kStages; ++st) {
      first[st * jobs.size() + i] = total[st];
      total[st] += blocks[i][st];
    }
  }
  const JobTable<Job> table(jobs, first);
  launch(kStats, total[kStats], kThreads, table);
  launch(kState, total[kState], kThreads, table);
  launch(kMean, total[kMean], kReduceThreads, table);
  launch(kFactor, total[kFactor], kThreads, table);
  launch(kClip, total[kClip], kReduceThreads, table, clip_threshold);
  launch(kApply, total[kApply], kThreads, table);
}

}  // namespace gt::optim_detail
