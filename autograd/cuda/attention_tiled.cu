// The FlashAttention path of attention on the GPU (ops.h: attention), forward and backward, in the [B, T, H, D]
// layout; attention.cu chooses between it and the products path.
//
// A block works on M = 16 stacked rows (attention_rows.cuh) against key tiles, keeping the
// softmax online (FlashAttention): only the row's max, sum and the [M, D] output accumulator live across tiles,
// and the forward saves one log-sum-exp per row. The backward recomputes the probabilities from it in two
// kernels that never write the same memory twice: dK/dV per key tile (the row range optionally split across
// blocks, each writing a private partial that a last kernel adds in order) and dQ per row tile. No atomics, so
// results are bit-identical from run to run.
//
// Compute is f32 on CUDA cores with operands staged in shared memory as f32 (bf16 inputs are widened on load).
// Head dims up to 512 (E2B: 256 on sliding layers, 512 on full ones); each thread owns DPT = ceil(D / 256) output
// columns.
#include <algorithm>
#include <cmath>

#include "autograd/cuda/attention_rows.cuh"
#include "autograd/cuda/device_math.cuh"

namespace gt::cuda::attention_detail {

namespace {

// acc[r][i] += sum_k A[r][k] * Bs[k][d_i] over k < INNER, d_i = threadIdx.x + i * kThreads (< ncols).
// A is [ROWS][INNER] in shared memory (16-byte aligned rows, read as float4 broadcasts), Bs [INNER][ldb].
template <int ROWS, int INNER, int DPT>
__device__ __forceinline__ void tile_product(float (&acc)[ROWS][DPT], const float* A, const float* Bs, int64_t ldb,
                                             int64_t ncols) {
#pragma unroll
  for (int k0 = 0; k0 < INNER; k0 += 4) {
    float bv[4][DPT];
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
#pragma unroll
      for (int i = 0; i < DPT; ++i) {
        const int64_t d = threadIdx.x + i * kThreads;
        bv[kk][i] = d < ncols ? Bs[(k0 + kk) * ldb + d] : 0.f;
      }
#pragma unroll
    for (int r = 0; r < ROWS; ++r) {
      const float4 a = *reinterpret_cast<const float4*>(A + r * INNER + k0);
#pragma unroll
      for (int i = 0; i < DPT; ++i) acc[r][i] += a.x * bv[0][i] + a.y * bv[1][i] + a.z * bv[2][i] + a.w * bv[3][i];
    }
  }
}

// Stages `rows` rows of width `width` (global row offsets from `at(r)`) into shared memory with stride ld, as f32;
// rows at or beyond `valid` read as zeros.
template <class T, class At>
__device__ __forceinline__ void stage(float* dst, int64_t ld, const T* src, int rows, int64_t valid, int64_t width,
                                      At at) {
  for (int64_t i = threadIdx.x; i < rows * width; i += kThreads) {
    const int r = static_cast<int>(i / width);
    const int64_t d = i % width;
    dst[r * ld + d] = r < valid ? to_f(src[at(r) + d]) : 0.f;
  }
}

// The backward's tile of M stacked query rows from r0 (valid of them) of kv group g: Q and dO into shared memory
// (rows D + 1 and Dv + 1 apart), and each row's log-sum-exp and D_i (-inf and 0 past the valid rows).
template <class T>
__device__ __forceinline__ void stage_rows(const Params& p, int64_t b, int64_t g, int64_t r0, int64_t valid,
                                           const T* q, const T* dout, const float* lse, const float* di, float* Qs,
                                           float* dOs, float* lse_s, float* di_s) {
  stage(Qs, p.D + 1, q, M, valid, p.D, [&](int rr) { return row_offset(p, b, g, r0 + rr, p.D); });
  stage(dOs, p.Dv + 1, dout, M, valid, p.Dv, [&](int rr) { return row_offset(p, b, g, r0 + rr, p.Dv); });
  if (threadIdx.x < M) {
    const int64_t rr = r0 + threadIdx.x;
    const int64_t t = rr / p.G, j = rr % p.G;
    const int64_t at = (b * p.T + t) * p.Hq + g * p.G + j;
    lse_s[threadIdx.x] = threadIdx.x < valid ? lse[at] : -INFINITY;
    di_s[threadIdx.x] = threadIdx.x < valid ? di[at] : 0.f;
  }
}

template <class T, int DPT>
__global__ void __launch_bounds__(kThreads) forward_kernel(Params p, const T* q, const T* k, const T* v, T* out,
                                                           float* lse) {
  extern __shared__ __align__(16) float sm[];
  constexpr int BK = kFwdKeys;
  const int64_t b = blockIdx.y / p.Hkv, g = blockIdx.y % p.Hkv;
  const int64_t rows = p.T * p.G, r0 = blockIdx.x * int64_t{M};
  const int64_t kvw = max(p.D, p.Dv) + 1;
  float* Qs = sm;                  // [M][D]
  float* KV = Qs + M * p.D;        // [BK][kvw]: K, then V of the same tile
  float* Ps = KV + BK * kvw;       // [M][BK]
  float* row_m = Ps + M * BK;      // running max, sum and last rescale factor per row
  float* row_l = row_m + M;
  float* row_a = row_l + M;
  const int64_t valid = min(int64_t{M}, rows - r0);
  stage(Qs, p.D, q, M, valid, p.D, [&](int r) { return row_offset(p, b, g, r0 + r, p.D); });
  if (threadIdx.x < M) {
    row_m[threadIdx.x] = -INFINITY;
    row_l[threadIdx.x] = 0.f;
  }
  float acc[M][DPT] = {};

  const int64_t n_lo = key_lo(p, r0 / p.G), n_hi = key_hi(p, (r0 + valid - 1) / p.G);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;  // warp w scores rows w and w + 8
  for (int64_t n0 = n_lo; n0 < n_hi; n0 += BK) {
    const int64_t nk = min(int64_t{BK}, n_hi - n0);
    __syncthreads();  // the previous tile's V is no longer read
    stage(KV, kvw, k, BK, nk, p.D, [&](int c) { return key_offset(p, b, g, n0 + c, p.D); });
    __syncthreads();
    float s0 = 0.f, s1 = 0.f;
    {
      const float* kr = KV + lane * kvw;
      const float* q0 = Qs + warp * p.D;
      const float* q1 = Qs + (warp + 8) * p.D;
      for (int64_t d = 0; d < p.D; ++d) {
        const float kv = kr[d];
        s0 += q0[d] * kv;
        s1 += q1[d] * kv;
      }
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = warp + 8 * h;
      const int64_t t = (r0 + r) / p.G;
      const bool ok = r < valid && lane < nk && visible(p, b, t, n0 + lane);
      const float s = ok ? (h ? s1 : s0) * p.scale : -INFINITY;
      const float m_old = row_m[r];
      const float m_new = fmaxf(m_old, warp_max(s));
      const float e = (s == -INFINITY) ? 0.f : expf(s - m_new);
      const float sum = warp_sum(e);
      const float alpha = (m_old == -INFINITY) ? 0.f : expf(m_old - m_new);
      Ps[r * BK + lane] = e;
      __syncwarp();
      if (lane == 0) {
        row_l[r] = row_l[r] * alpha + sum;
        row_m[r] = m_new;
        row_a[r] = alpha;
      }
    }
    __syncthreads();
    stage(KV, kvw, v, BK, nk, p.Dv, [&](int c) { return key_offset(p, b, g, n0 + c, p.Dv); });
    __syncthreads();
#pragma unroll
    for (int r = 0; r < M; ++r) {
      const float a = row_a[r];
#pragma unroll
      for (int i = 0; i < DPT; ++i) acc[r][i] *= a;
    }
    tile_product<M, BK, DPT>(acc, Ps, KV, kvw, p.Dv);
  }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < M; ++r) {
    if (r >= valid) break;
    const float l = row_l[r];
    const float inv = l > 0.f ? 1.f / l : 0.f;
    T* orow = out + row_offset(p, b, g, r0 + r, p.Dv);
#pragma unroll
    for (int i = 0; i < DPT; ++i) {
      const int64_t d = threadIdx.x + i * kThreads;
      if (d < p.Dv) orow[d] = from_f<T>(acc[r][i] * inv);
    }
  }
  if (lse && threadIdx.x < valid) {
    const int r = threadIdx.x;
    const int64_t t = (r0 + r) / p.G, j = (r0 + r) % p.G;
    lse[(b * p.T + t) * p.Hq + g * p.G + j] = row_l[r] > 0.f ? row_m[r] + logf(row_l[r]) : -INFINITY;
  }
}

// di[row] = sum_d dO[row, d] O[row, d], one warp a row.
template <class T>
__global__ void delta_kernel(const T* dout, const T* out, int64_t rows, int64_t Dv, float* di) {
  const int64_t row = blockIdx.x * int64_t{kThreads / 32} + (threadIdx.x >> 5);
  if (row >= rows) return;
  float s = 0.f;
  for (int64_t d = threadIdx.x & 31; d < Dv; d += 32) s += to_f(dout[row * Dv + d]) * to_f(out[row * Dv + d]);
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) di[row] = s;
}

// Probability and score gradient of (stacked row r, key c) in a backward tile; thread (r, c) = (tid / 16, tid % 16).
struct PdS {
  float p, ds;
};
__device__ __forceinline__ PdS probs_and_grad(const Params& p, int64_t b, int64_t t, int64_t key, bool ok,
                                              const float* qr, const float* kr, const float* dor, const float* vr,
                                              float lse, float di) {
  if (!ok || lse == -INFINITY) return {0.f, 0.f};
  float s = 0.f, dp = 0.f;
  for (int64_t d = 0; d < p.D; ++d) s += qr[d] * kr[d];
  for (int64_t d = 0; d < p.Dv; ++d) dp += dor[d] * vr[d];
  const float pr = expf(s * p.scale - lse);
  return {pr, pr * (dp - di) * p.scale};
}

// dK and dV of one key tile over the stacked rows [row_begin, row_end) of split blockIdx.z; writes f32 partials
// [splits][B, S, Hkv, width] (or the final tensors when there is one split).
template <class T, int DPT, class OutT>
__global__ void __launch_bounds__(kThreads) kv_grad_kernel(Params p, const T* q, const T* k, const T* v,
                                                           const T* dout, const float* lse, const float* di,
                                                           int64_t rows_per_split, OutT* dk, OutT* dv) {
  extern __shared__ __align__(16) float sm[];
  constexpr int BK = kBwdKeys;
  const int64_t b = blockIdx.y / p.Hkv, g = blockIdx.y % p.Hkv;
  const int64_t s0 = blockIdx.x * int64_t{BK}, nk = min(int64_t{BK}, p.S - s0);
  const int64_t ldk = p.D + 1, ldv = p.Dv + 1;
  float* Ks = sm;                 // [BK][D + 1]
  float* Vs = Ks + BK * ldk;      // [BK][Dv + 1]
  float* Qs = Vs + BK * ldv;      // [M][D + 1]
  float* dOs = Qs + M * ldk;      // [M][Dv + 1]
  float* Pt = dOs + M * ldv;      // [BK][M] (transposed: rows are keys)
  float* dSt = Pt + BK * M;       // [BK][M]
  float* lse_s = dSt + BK * M;    // [M]
  float* di_s = lse_s + M;        // [M]
  stage(Ks, ldk, k, BK, nk, p.D, [&](int c) { return key_offset(p, b, g, s0 + c, p.D); });
  stage(Vs, ldv, v, BK, nk, p.Dv, [&](int c) { return key_offset(p, b, g, s0 + c, p.Dv); });

  float adk[BK][DPT] = {}, adv[BK][DPT] = {};

  // Query positions that can see a key in [s0, s0 + nk).
  int64_t t_lo = p.causal ? max(int64_t{0}, s0 - p.q_offset) : 0;
  int64_t t_hi = p.window > 0 ? min(p.T, s0 + nk - 1 + p.window - p.q_offset) : p.T;
  int64_t row_lo = t_lo * p.G, row_hi = max(row_lo, t_hi * p.G);
  // This split's share, in whole tiles.
  const int64_t begin = row_lo + blockIdx.z * rows_per_split, end = min(row_hi, begin + rows_per_split);
  const int r = threadIdx.x / BK, c = threadIdx.x % BK;
  for (int64_t r0 = begin; r0 < end; r0 += M) {
    const int64_t valid = min(int64_t{M}, end - r0);
    __syncthreads();
    stage_rows(p, b, g, r0, valid, q, dout, lse, di, Qs, dOs, lse_s, di_s);
    __syncthreads();
    const int64_t t = (r0 + r) / p.G;
    const bool ok = r < valid && c < nk && visible(p, b, t, s0 + c);
    const PdS x = probs_and_grad(p, b, t, s0 + c, ok, Qs + r * ldk, Ks + c * ldk, dOs + r * ldv, Vs + c * ldv,
                                 lse_s[r], di_s[r]);
    Pt[c * M + r] = x.p;
    dSt[c * M + r] = x.ds;
    __syncthreads();
    tile_product<BK, M, DPT>(adv, Pt, dOs, ldv, p.Dv);
    tile_product<BK, M, DPT>(adk, dSt, Qs, ldk, p.D);
  }
  const int64_t part = blockIdx.z * p.B * p.S * p.Hkv;
#pragma unroll
  for (int cc = 0; cc < BK; ++cc) {
    if (cc >= nk) break;
#pragma unroll
    for (int i = 0; i < DPT; ++i) {
      const int64_t d = threadIdx.x + i * kThreads;
      if (dk && d < p.D) dk[part * p.D + key_offset(p, b, g, s0 + cc, p.D) + d] = from_f<OutT>(adk[cc][i]);
      if (dv && d < p.Dv) dv[part * p.Dv + key_offset(p, b, g, s0 + cc, p.Dv) + d] = from_f<OutT>(adv[cc][i]);
    }
  }
}

// out = sum over splits of partial[split] (in split order).
template <class T>
__global__ void sum_splits(const float* partial, int64_t n, int64_t splits, T* out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    float s = 0.f;
    for (int64_t z = 0; z < splits; ++z) s += partial[z * n + i];
    out[i] = from_f<T>(s);
  }
}

// dQ of one tile of stacked rows, over the keys its rows see.
template <class T, int DPT>
__global__ void __launch_bounds__(kThreads) q_grad_kernel(Params p, const T* q, const T* k, const T* v,
                                                          const T* dout, const float* lse, const float* di, T* dq) {
  extern __shared__ __align__(16) float sm[];
  constexpr int BK = kBwdKeys;
  const int64_t b = blockIdx.y / p.Hkv, g = blockIdx.y % p.Hkv;
  const int64_t rows = p.T * p.G, r0 = blockIdx.x * int64_t{M};
  const int64_t valid = min(int64_t{M}, rows - r0);
  const int64_t ldk = p.D + 1, ldv = p.Dv + 1;
  float* Ks = sm;
  float* Vs = Ks + BK * ldk;
  float* Qs = Vs + BK * ldv;
  float* dOs = Qs + M * ldk;
  float* dS = dOs + M * ldv;  // [M][BK]
  float* lse_s = dS + M * BK;
  float* di_s = lse_s + M;
  stage_rows(p, b, g, r0, valid, q, dout, lse, di, Qs, dOs, lse_s, di_s);
  float acc[M][DPT] = {};
  const int64_t n_lo = key_lo(p, r0 / p.G), n_hi = key_hi(p, (r0 + valid - 1) / p.G);
  const int r = threadIdx.x / BK, c = threadIdx.x % BK;
  for (int64_t n0 = n_lo; n0 < n_hi; n0 += BK) {
    const int64_t nk = min(int64_t{BK}, n_hi - n0);
    __syncthreads();
    stage(Ks, ldk, k, BK, nk, p.D, [&](int cc) { return key_offset(p, b, g, n0 + cc, p.D); });
    stage(Vs, ldv, v, BK, nk, p.Dv, [&](int cc) { return key_offset(p, b, g, n0 + cc, p.Dv); });
    __syncthreads();
    const int64_t t = (r0 + r) / p.G;
    const bool ok = r < valid && c < nk && visible(p, b, t, n0 + c);
    dS[r * BK + c] = probs_and_grad(p, b, t, n0 + c, ok, Qs + r * ldk, Ks + c * ldk, dOs + r * ldv, Vs + c * ldv,
                                    lse_s[r], di_s[r])
                         .ds;
    __syncthreads();
    tile_product<M, BK, DPT>(acc, dS, Ks, ldk, p.D);
  }
#pragma unroll
  for (int rr = 0; rr < M; ++rr) {
    if (rr >= valid) break;
    T* out = dq + row_offset(p, b, g, r0 + rr, p.D);
#pragma unroll
    for (int i = 0; i < DPT; ++i) {
      const int64_t d = threadIdx.x + i * kThreads;
      if (d < p.D) out[d] = from_f<T>(acc[rr][i]);
    }
  }
}

template <class K>
void allow_smem(K kernel, size_t bytes) {
  check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
        "attention: shared memory limit");
}

template <class F>
void with_dpt(int64_t width, F&& f) {
  if (width <= kThreads) f(std::integral_constant<int, 1>{});
  else f(std::integral_constant<int, 2>{});
}

}  // namespace

void tiled_forward(const AttentionShape& s, const Params& p, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& out, const Tensor& lse) {
  const int64_t tiles = (s.T * p.G + M - 1) / M;
  // The kernel's layout: Qs [M][D], K/V [BK][max(D, Dv) + 1], Ps [M][BK], three [M] row vectors. Ps's offset is a
  // multiple of 16 floats (M and BK are), so its float4 reads stay aligned.
  const int64_t kvw = std::max(s.D, s.Dv) + 1;
  const size_t bytes = static_cast<size_t>(M * s.D + kFwdKeys * kvw + M * kFwdKeys + 3 * M) * sizeof(float);
  with_float(q.dtype(), "cuda::attention", [&](auto tag) {
    using T = typename decltype(tag)::type;
    with_dpt(s.Dv, [&](auto dpt) {
      auto kernel = forward_kernel<T, decltype(dpt)::value>;
      allow_smem(kernel, bytes);
      kernel<<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(s.B * s.Hkv)), kThreads, bytes, stream()>>>(
          p, cptr<T>(q), cptr<T>(k), cptr<T>(v), mptr<T>(out), lse.defined() ? mptr<float>(lse) : nullptr);
    });
  });
  check_launch("attention_forward");
}

void tiled_backward(const AttentionShape& s, const Params& p, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& out, const Tensor& lse, const Tensor& dout, const Tensor& dq, const Tensor& dk,
                    const Tensor& dv) {
  const int64_t rows = s.B * s.T * s.Hq;
  Tensor di = Tensor::empty({std::max<int64_t>(rows, 1)}, DType::F32, Device::CUDA);
  const int64_t ldk = s.D + 1, ldv = s.Dv + 1;
  with_float(q.dtype(), "cuda::attention_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (rows > 0)
      delta_kernel<T><<<blocks_for(rows, kThreads / 32), kThreads, 0, stream()>>>(cptr<T>(dout), cptr<T>(out), rows,
                                                                                  s.Dv, mptr<float>(di));
    if (dk.defined() || dv.defined()) {
      const int64_t ktiles = (s.S + kBwdKeys - 1) / kBwdKeys;
      // Enough blocks to fill the GPU twice over: split each key tile's rows when B x Hkv x key tiles is small.
      const int64_t blocks = std::max<int64_t>(1, ktiles * s.B * s.Hkv);
      const int64_t splits = std::clamp<int64_t>((264 + blocks - 1) / blocks, 1, 8);
      const int64_t total_rows = s.T * p.G;
      const int64_t per = std::max<int64_t>(M, ((total_rows + splits - 1) / splits + M - 1) / M * M);
      // Ks, Vs, Qs, dOs (padded rows), then Pt, dSt [BK][M] and two [M] vectors. Pt's offset is 32 (D + Dv + 2)
      // floats, a multiple of 4, so its float4 reads stay aligned.
      const size_t bytes =
          static_cast<size_t>((kBwdKeys + M) * (ldk + ldv) + 2 * kBwdKeys * M + 2 * M) * sizeof(float);
      Tensor part_k, part_v;
      if (splits > 1) {
        if (dk.defined()) part_k = Tensor::empty({splits * k.numel()}, DType::F32, Device::CUDA);
        if (dv.defined()) part_v = Tensor::empty({splits * v.numel()}, DType::F32, Device::CUDA);
      }
      with_dpt(std::max(s.D, s.Dv), [&](auto dpt) {
        constexpr int DPT = decltype(dpt)::value;
        const dim3 grid(static_cast<unsigned>(ktiles), static_cast<unsigned>(s.B * s.Hkv),
                        static_cast<unsigned>(splits));
        if (splits > 1) {
          auto kernel = kv_grad_kernel<T, DPT, float>;
          allow_smem(kernel, bytes);
          kernel<<<grid, kThreads, bytes, stream()>>>(
              p, cptr<T>(q), cptr<T>(k), cptr<T>(v), cptr<T>(dout), cptr<float>(lse), cptr<float>(di), per,
              dk.defined() ? mptr<float>(part_k) : nullptr, dv.defined() ? mptr<float>(part_v) : nullptr);
        } else {
          auto kernel = kv_grad_kernel<T, DPT, T>;
          allow_smem(kernel, bytes);
          kernel<<<grid, kThreads, bytes, stream()>>>(p, cptr<T>(q), cptr<T>(k), cptr<T>(v), cptr<T>(dout),
                                                      cptr<float>(lse), cptr<float>(di), per,
                                                      dk.defined() ? mptr<T>(dk) : nullptr,
                                                      dv.defined() ? mptr<T>(dv) : nullptr);
        }
      });
      if (splits > 1) {
        if (dk.defined())
          sum_splits<T><<<blocks_for(k.numel(), kThreads), kThreads, 0, stream()>>>(cptr<float>(part_k), k.numel(),
                                                                                   splits, mptr<T>(dk));
        if (dv.defined())
          sum_splits<T><<<blocks_for(v.numel(), kThreads), kThreads, 0, stream()>>>(cptr<float>(part_v), v.numel(),
                                                                                   splits, mptr<T>(dv));
      }
    }
    if (dq.defined()) {
      const int64_t tiles = (s.T * p.G + M - 1) / M;
      const size_t bytes = static_cast<size_t>((kBwdKeys + M) * (ldk + ldv) + M * kBwdKeys + 2 * M) * sizeof(float);
      with_dpt(s.D, [&](auto dpt) {
        auto kernel = q_grad_kernel<T, decltype(dpt)::value>;
        allow_smem(kernel, bytes);
        if (tiles > 0)
          kernel<<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(s.B * s.Hkv)), kThreads, bytes,
                   stream()>>>(p, cptr<T>(q), cptr<T>(k), cptr<T>(v), cptr<T>(dout), cptr<float>(lse),
                               cptr<float>(di), mptr<T>(dq));
      });
    }
  });
  check_launch("attention_backward");
}

}  // namespace gt::cuda::attention_detail
