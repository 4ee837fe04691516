// RMSNorm, rotary embedding and table-row kernels (gather, grouped row sums, row scatter) on the GPU.
#include <cmath>

#include "autograd/cuda/device_math.cuh"
#include "autograd/cuda/kernels.h"

namespace gt::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kNormChunkRows = 64;  // rows per partial sum of the weight gradient

// One block per row: out = (x * rinv) * w, the rounding order of transformers (docs/model.md §2.1).
template <class T, class W>
__global__ void rms_forward_kernel(const T* x, const W* w, float eps, int64_t D, T* out, float* rinv) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  float ss = 0.f;
  for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
    const float v = to_f(xr[c]);
    ss += v * v;
  }
  ss = block_sum(ss);
  const float inv = 1.f / sqrtf(ss / static_cast<float>(D) + eps);
  if (threadIdx.x == 0) rinv[r] = inv;
  T* yr = out + r * D;
  for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
    const float v = to_f(xr[c]) * inv;
    yr[c] = from_f<T>(w ? v * to_f(w[c]) : v);
  }
}

// dx = rinv (g w - x k), k = rinv^2 mean(x g w).
template <class T, class G, class W>
__global__ void rms_dx_kernel(const T* x, const W* w, const float* rinv, const G* gy, int64_t D, G* dx) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * D;
  const G* gr = gy + r * D;
  const float inv = rinv[r];
  float dot = 0.f;
  for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
    const float gw = w ? to_f(gr[c]) * to_f(w[c]) : to_f(gr[c]);
    dot += to_f(xr[c]) * gw;
  }
  dot = block_sum(dot);
  const float k = dot / static_cast<float>(D) * inv * inv;
  G* dr = dx + r * D;
  for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
    const float gw = w ? to_f(gr[c]) * to_f(w[c]) : to_f(gr[c]);
    dr[c] = from_f<G>(inv * (gw - to_f(xr[c]) * k));
  }
}

// partial[chunk, c] = sum over the chunk's rows of g[r, c] x[r, c] rinv[r]; then dw[c] = sum over chunks.
template <class T, class G>
__global__ void rms_dw_partial(const T* x, const float* rinv, const G* gy, int64_t R, int64_t D, float* partial) {
  const int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (c >= D) return;
  const int64_t r0 = blockIdx.y * kNormChunkRows, r1 = min(R, r0 + kNormChunkRows);
  float s = 0.f;
  for (int64_t r = r0; r < r1; ++r) s += to_f(gy[r * D + c]) * (to_f(x[r * D + c]) * rinv[r]);
  partial[blockIdx.y * D + c] = s;
}

__global__ void column_sum(const float* partial, int64_t rows, int64_t D, float* out) {
  const int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (c >= D) return;
  float s = 0.f;
  for (int64_t r = 0; r < rows; ++r) s += partial[r * D + c];
  out[c] = s;
}

template <class T>
__global__ void rope_kernel(const T* x, const float* cs, const float* sn, int64_t rows, int64_t T_, int64_t H,
                            int64_t half, bool per_batch, float sign, T* y) {
  const int64_t n = rows * half;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t row = i / half, j = i % half;
    const int64_t bt = row / H;
    const int64_t tab = (per_batch ? bt : bt % T_) * half + j;
    const float c = cs[tab], s = sign * sn[tab];
    const T* xr = x + row * 2 * half;
    const float lo = to_f(xr[j]), hi = to_f(xr[j + half]);
    T* yr = y + row * 2 * half;
    yr[j] = from_f<T>(lo * c - hi * s);
    yr[j + half] = from_f<T>(hi * c + lo * s);
  }
}

template <class T, class O>
__global__ void gather_kernel(const T* table, int64_t row_stride, const int64_t* ids, int64_t n, int64_t D, O* out) {
  const int64_t total = n * D;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t k = i / D, c = i % D;
    out[i] = from_f<O>(to_f(table[ids[k] * row_stride + c]));
  }
}

template <class T>
__global__ void group_sum_kernel(const T* src, const int64_t* order, const int64_t* starts, int64_t D, float* out) {
  const int64_t u = blockIdx.y;
  const int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (c >= D) return;
  float s = 0.f;
  for (int64_t k = starts[u]; k < starts[u + 1]; ++k) s += to_f(src[order[k] * D + c]);
  out[u * D + c] = s;
}

template <class T>
__global__ void scatter_add_kernel(float* dst, const int64_t* rows, const T* values, int64_t U, int64_t D) {
  const int64_t total = U * D;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t u = i / D, c = i % D;
    dst[rows[u] * D + c] += to_f(values[i]);
  }
}

// Threads per block for one row of D elements: enough to cover it, a multiple of 32, at most 1024.
int row_threads(int64_t D) {
  int t = 32;
  while (t < 1024 && t < D) t *= 2;
  return t;
}

unsigned grid_rows(int64_t R, const char* what) {
  GT_CHECK(R < (int64_t{1} << 31), what, ": too many rows (", R, ")");
  return static_cast<unsigned>(R);
}

}  // namespace

void rms_norm_forward(const Tensor& x, const Tensor& w, float eps, const Tensor& out, const Tensor& rinv) {
  const int64_t D = x.size(-1), R = D ? x.numel() / D : 0;
  if (R == 0) return;
  with_float(x.dtype(), "cuda::rms_norm", [&](auto xt) {
    using T = typename decltype(xt)::type;
    auto launch = [&](auto wt) {
      using W = typename decltype(wt)::type;
      rms_forward_kernel<T, W><<<grid_rows(R, "rms_norm"), row_threads(D), 0, stream()>>>(
          cptr<T>(x), w.defined() ? cptr<W>(w) : nullptr, eps, D, mptr<T>(out), mptr<float>(rinv));
    };
    if (w.defined()) with_float(w.dtype(), "cuda::rms_norm weight", launch);
    else launch(Tag<T>{});
  });
  check_launch("rms_norm_forward");
}

void rms_norm_backward(const Tensor& x, const Tensor& w, const Tensor& rinv, const Tensor& gy, const Tensor& dx,
                       const Tensor& dw) {
  const int64_t D = x.size(-1), R = D ? x.numel() / D : 0;
  if (R == 0) {
    if (dw.defined()) fill_zero(dw.raw(), static_cast<size_t>(dw.numel()) * 4);
    return;
  }
  with_float(x.dtype(), "cuda::rms_norm_backward", [&](auto xt) {
    using T = typename decltype(xt)::type;
    with_float(gy.dtype(), "cuda::rms_norm_backward", [&](auto gt_) {
      using G = typename decltype(gt_)::type;
      if (dx.defined()) {
        auto launch = [&](auto wt) {
          using W = typename decltype(wt)::type;
          rms_dx_kernel<T, G, W><<<grid_rows(R, "rms_norm"), row_threads(D), 0, stream()>>>(
              cptr<T>(x), w.defined() ? cptr<W>(w) : nullptr, cptr<float>(rinv), cptr<G>(gy), D, mptr<G>(dx));
        };
        if (w.defined()) with_float(w.dtype(), "cuda::rms_norm weight", launch);
        else launch(Tag<T>{});
      }
      if (dw.defined()) {
        const int64_t chunks = (R + kNormChunkRows - 1) / kNormChunkRows;
        GT_CHECK(chunks < 65536, "cuda::rms_norm_backward: ", R, " rows is too many for the weight gradient");
        Tensor partial = Tensor::empty({chunks, D}, DType::F32, Device::CUDA);
        const dim3 grid(blocks_for(D, kThreads), static_cast<unsigned>(chunks));
        rms_dw_partial<T, G><<<grid, kThreads, 0, stream()>>>(cptr<T>(x), cptr<float>(rinv), cptr<G>(gy), R, D,
                                                               mptr<float>(partial));
        column_sum<<<blocks_for(D, kThreads), kThreads, 0, stream()>>>(cptr<float>(partial), chunks, D,
                                                                        mptr<float>(dw));
      }
    });
  });
  check_launch("rms_norm_backward");
}

void rope(const Tensor& x, const Tensor& cos, const Tensor& sin, bool inverse, const Tensor& out) {
  GT_CHECK(cos.dtype() == DType::F32 && sin.dtype() == DType::F32 && cos.is_contiguous() && sin.is_contiguous(),
           "cuda::rope: cos/sin must be contiguous f32, got ", cos.str(), " and ", sin.str());
  const int64_t T = x.size(1), H = x.size(2), half = x.size(3) / 2, rows = x.numel() / (2 * half);
  if (rows == 0 || half == 0) return;
  with_float(x.dtype(), "cuda::rope", [&](auto tag) {
    using V = typename decltype(tag)::type;
    rope_kernel<V><<<blocks_for(rows * half, kThreads), kThreads, 0, stream()>>>(
        cptr<V>(x), cptr<float>(cos), cptr<float>(sin), rows, T, H, half, cos.dim() == 3, inverse ? -1.f : 1.f,
        mptr<V>(out));
  });
  check_launch("rope");
}

void gather_rows(const Tensor& table, const Tensor& ids, const Tensor& out) {
  GT_CHECK(table.dim() == 2 && table.strides()[1] == 1 && ids.dtype() == DType::I64 && ids.is_contiguous() &&
               out.is_contiguous(),
           "cuda::gather_rows: table ", table.str(), ", ids ", ids.str(), ", out ", out.str());
  const int64_t n = ids.numel(), D = table.size(1);
  if (n * D == 0) return;
  with_float(table.dtype(), "cuda::gather_rows", [&](auto tt) {
    using T = typename decltype(tt)::type;
    with_float(out.dtype(), "cuda::gather_rows", [&](auto ot) {
      using O = typename decltype(ot)::type;
      gather_kernel<T, O><<<blocks_for(n * D, kThreads), kThreads, 0, stream()>>>(
          cptr<T>(table), table.strides()[0], cptr<int64_t>(ids), n, D, mptr<O>(out));
    });
  });
  check_launch("gather_rows");
}

void group_rows_sum(const Tensor& src, const Tensor& order, const Tensor& starts, const Tensor& out) {
  const int64_t U = out.size(0), D = out.size(1);
  GT_CHECK(src.is_contiguous() && src.dim() == 2 && src.size(1) == D && out.dtype() == DType::F32 &&
               order.dtype() == DType::I64 && starts.dtype() == DType::I64 && starts.numel() == U + 1,
           "cuda::group_rows_sum: src ", src.str(), ", order ", order.str(), ", starts ", starts.str(), ", out ",
           out.str());
  if (U == 0 || D == 0) return;
  GT_CHECK(U < 65536 * 1024, "cuda::group_rows_sum: too many groups (", U, ")");
  with_float(src.dtype(), "cuda::group_rows_sum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Groups go on grid.y (up to 65535); larger counts are split into several launches.
    for (int64_t u0 = 0; u0 < U; u0 += 65535) {
      const int64_t nu = std::min<int64_t>(65535, U - u0);
      const dim3 grid(blocks_for(D, kThreads), static_cast<unsigned>(nu));
      group_sum_kernel<T><<<grid, kThreads, 0, stream()>>>(cptr<T>(src), cptr<int64_t>(order),
                                                           cptr<int64_t>(starts) + u0, D, mptr<float>(out) + u0 * D);
    }
  });
  check_launch("group_rows_sum");
}

void scatter_rows_add(const Tensor& dst, const Tensor& rows, const Tensor& values) {
  const int64_t U = rows.numel(), D = dst.size(1);
  GT_CHECK(dst.dtype() == DType::F32 && dst.is_contiguous() && rows.dtype() == DType::I64 && values.is_contiguous() &&
               values.dim() == 2 && values.size(0) == U && values.size(1) == D,
           "cuda::scatter_rows_add: dst ", dst.str(), ", rows ", rows.str(), ", values ", values.str());
  if (U * D == 0) return;
  with_float(values.dtype(), "cuda::scatter_rows_add", [&](auto tag) {
    using T = typename decltype(tag)::type;
    scatter_add_kernel<T><<<blocks_for(U * D, kThreads), kThreads, 0, stream()>>>(
        mptr<float>(dst), cptr<int64_t>(rows), cptr<T>(values), U, D);
  });
  check_launch("scatter_rows_add");
}

}  // namespace gt::cuda
