// Row statistics and gradients of log-softmax losses over [N, V] logits, with the optional final softcap fused in.
#include <cmath>

#include "autograd/cuda/device_math.cuh"
#include "autograd/cuda/kernels.h"

namespace gt::cuda {

namespace {

constexpr int kStatThreads = 1024;
constexpr int kGradThreads = 256;

// One block per row: optional softcap in place, then an online max / sum of exponentials per thread, merged over
// the block in a fixed order.
template <class T>
__global__ void stats_kernel(T* x, int64_t V, float cap, float inv_t, const int64_t* targets, float* lse,
                             float* picked) {
  const int64_t n = blockIdx.x;
  T* row = x + n * V;
  float m = -INFINITY, s = 0.f;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
    float v = to_f(row[j]);
    if (cap > 0.f) {
      v = tanhf(v / cap) * cap;
      row[j] = from_f<T>(v);
      v = to_f(row[j]);
    }
    v *= inv_t;
    if (v == -INFINITY) continue;  // contributes exp(-inf) = 0; skipping keeps -inf - -inf out of the sum
    if (v > m) {
      s = s * expf(m - v) + 1.f;
      m = v;
    } else {
      s += expf(v - m);
    }
  }
  const float bm = block_max(m);
  s = (m == -INFINITY) ? 0.f : s * expf(m - bm);
  s = block_sum(s);
  if (threadIdx.x == 0) {
    if (lse) lse[n] = bm + logf(s);
    if (picked) {
      const int64_t t = targets[n];
      picked[n] = (t >= 0 && t < V) ? to_f(row[t]) : 0.f;
    }
  }
}

template <class Y, class O>
__global__ void grad_kernel(const Y* y, int64_t V, const float* lse, const int64_t* targets, const float* scale,
                            float cap, float inv_t, O* dx) {
  const int64_t n = blockIdx.y;
  const float f = scale[n];
  const float l = lse[n];
  const int64_t t = targets[n];
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < V; j += int64_t{gridDim.x} * blockDim.x) {
    float d = 0.f;
    if (f != 0.f) {
      const float v = to_f(y[n * V + j]);
      d = f * expf(v * inv_t - l);
      if (j == t) d -= f;
      if (cap > 0.f) {
        const float th = v / cap;
        d *= 1.f - th * th;
      }
    }
    dx[n * V + j] = from_f<O>(d);
  }
}

}  // namespace

void softmax_stats(const Tensor& x, float cap, const Tensor& targets, const Tensor& lse, const Tensor& picked,
                   float inv_t) {
  GT_CHECK(x.dim() == 2 && x.is_contiguous() && (cap <= 0.f || x.dtype() == DType::F32),
           "cuda::softmax_stats: logits ", x.str(), " must be contiguous [N, V] (f32 when capped in place)");
  GT_CHECK(!picked.defined() || (targets.dtype() == DType::I64 && targets.numel() == x.size(0)),
           "cuda::softmax_stats: targets ", targets.str(), " for logits ", x.str());
  const int64_t N = x.size(0), V = x.size(1);
  if (N == 0) return;
  GT_CHECK(N < (int64_t{1} << 31), "cuda::softmax_stats: too many rows (", N, ")");
  with_float(x.dtype(), "cuda::softmax_stats", [&](auto tag) {
    using T = typename decltype(tag)::type;
    stats_kernel<T><<<static_cast<unsigned>(N), kStatThreads, 0, stream()>>>(
        mptr<T>(x), V, cap, inv_t, picked.defined() ? cptr<int64_t>(targets) : nullptr,
        lse.defined() ? mptr<float>(lse) : nullptr, picked.defined() ? mptr<float>(picked) : nullptr);
  });
  check_launch("softmax_stats");
}

void softmax_grad(const Tensor& y, const Tensor& lse, const Tensor& targets, const Tensor& scale, float cap,
                  const Tensor& dx, float inv_t) {
  const int64_t N = y.size(0), V = y.size(1);
  GT_CHECK(y.is_contiguous() && dx.is_contiguous() && dx.numel() == N * V && lse.numel() == N &&
               targets.numel() == N && scale.numel() == N && targets.dtype() == DType::I64,
           "cuda::softmax_grad: y ", y.str(), ", dx ", dx.str());
  if (N == 0 || V == 0) return;
  GT_CHECK(N < 65536, "cuda::softmax_grad: at most 65535 rows per call, got ", N);
  const dim3 grid(std::min<unsigned>(blocks_for(V, kGradThreads), 64u), static_cast<unsigned>(N));
  with_float(y.dtype(), "cuda::softmax_grad", [&](auto yt) {
    using Y = typename decltype(yt)::type;
    with_float(dx.dtype(), "cuda::softmax_grad", [&](auto ot) {
      using O = typename decltype(ot)::type;
      grad_kernel<Y, O><<<grid, kGradThreads, 0, stream()>>>(cptr<Y>(y), V, cptr<float>(lse), cptr<int64_t>(targets),
                                                             cptr<float>(scale), cap, inv_t, mptr<O>(dx));
    });
  });
  check_launch("softmax_grad");
}

}  // namespace gt::cuda
