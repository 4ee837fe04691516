// Copies with dtype conversion, broadcasting arithmetic, pointwise activations and row sums on the GPU.
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/cuda/device_math.cuh"
#include "autograd/cuda/kernels.h"

namespace gt::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kMaxDims = 8;

// Shape and two sets of strides (in elements) of a strided walk over n elements in row-major order.
struct Walk {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t s0[kMaxDims];
  int64_t s1[kMaxDims];
  int64_t s2[kMaxDims];
};

__device__ __forceinline__ void offsets(const Walk& w, int64_t i, int64_t& o0, int64_t& o1, int64_t& o2) {
  o0 = o1 = o2 = 0;
  for (int d = w.nd - 1; d >= 0; --d) {
    const int64_t idx = i % w.shape[d];
    i /= w.shape[d];
    o0 += idx * w.s0[d];
    o1 += idx * w.s1[d];
    o2 += idx * w.s2[d];
  }
}

Walk make_walk(const Tensor& t0, const Tensor& t1, const Tensor* t2, const char* what) {
  GT_CHECK(t0.dim() <= kMaxDims, what, ": at most ", kMaxDims, " dims on the GPU, got ", t0.str());
  Walk w;
  w.nd = static_cast<int>(t0.dim());
  for (int d = 0; d < w.nd; ++d) {
    w.shape[d] = t0.shape()[d];
    w.s0[d] = t0.strides()[d];
    w.s1[d] = t1.strides()[d];
    w.s2[d] = t2 ? t2->strides()[d] : 0;
  }
  return w;
}

template <class D, class S>
__device__ __forceinline__ D convert(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<S, bf16_t>) {
    return static_cast<D>(__bfloat162float(v));
  } else if constexpr (std::is_same_v<D, bf16_t>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else {
    return static_cast<D>(v);
  }
}

template <class D, class S>
__global__ void copy_strided(Walk w, D* dst, const S* src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t od, os, unused;
    offsets(w, i, od, os, unused);
    dst[od] = convert<D>(src[os]);
  }
}

template <class D, class S>
__global__ void copy_dense(D* dst, const S* src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = convert<D>(src[i]);
}

template <Binary OP>
__device__ __forceinline__ float apply(float x, float y) {
  if constexpr (OP == Binary::Add) return x + y;
  if constexpr (OP == Binary::Sub) return x - y;
  if constexpr (OP == Binary::Mul) return x * y;
  if constexpr (OP == Binary::Div) return x / y;
}

template <class T, Binary OP>
__global__ void binary_dense(const T* a, const T* b, T* o, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    o[i] = from_f<T>(apply<OP>(to_f(a[i]), to_f(b[i])));
}

template <class T, Binary OP>
__global__ void binary_strided(Walk w, const T* a, const T* b, T* o, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t oa, ob, oo;
    offsets(w, i, oa, ob, oo);
    o[oo] = from_f<T>(apply<OP>(to_f(a[oa]), to_f(b[ob])));
  }
}

template <class T>
__global__ void scale_kernel(const T* x, float s, T* o, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    o[i] = from_f<T>(to_f(x[i]) * s);
}

constexpr float kGeluBeta = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluKappa = 0.044715f;

// t = tanh(sqrt(2/pi) (x + 0.044715 x^3)): gelu_tanh(x) = 0.5 x (1 + t).
__device__ __forceinline__ float gelu_inner(float x) { return tanhf(kGeluBeta * (x + kGeluKappa * x * x * x)); }
// d gelu_tanh / dx from x and its t.
__device__ __forceinline__ float gelu_slope(float x, float t) {
  const float slope = kGeluBeta * (1.f + 3.f * kGeluKappa * x * x);
  return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * slope;
}

template <class T, Unary OP>
__global__ void unary_kernel(const T* a, const T* b, float cap, T* o, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float x = to_f(a[i]);
    float y;
    if constexpr (OP == Unary::Gelu) {
      y = 0.5f * x * (1.f + gelu_inner(x));
    } else if constexpr (OP == Unary::GeluBackward) {
      const float v = to_f(b[i]);
      y = x * gelu_slope(v, gelu_inner(v));
    } else if constexpr (OP == Unary::Softcap) {
      y = tanhf(x / cap) * cap;
    } else {
      const float t = to_f(b[i]) / cap;
      y = x * (1.f - t * t);
    }
    o[i] = from_f<T>(y);
  }
}

template <class T>
__global__ void gelu_mul_kernel(const T* a, const T* b, T* o, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float x = to_f(a[i]);
    o[i] = from_f<T>(0.5f * x * (1.f + gelu_inner(x)) * to_f(b[i]));
  }
}

template <class T>
__global__ void gelu_mul_backward_kernel(const T* a, const T* b, const T* gy, T* da, T* db, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float x = to_f(a[i]), t = gelu_inner(x), u = to_f(gy[i]);
    if (db) db[i] = from_f<T>(u * (0.5f * x * (1.f + t)));
    if (da) da[i] = from_f<T>((u * to_f(b[i])) * gelu_slope(x, t));
  }
}

template <class T>
__global__ void row_sum_kernel(const T* src, int64_t run, T* out) {
  const T* row = src + blockIdx.x * run;
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < run; j += blockDim.x) s += to_f(row[j]);
  s = block_sum(s);
  if (threadIdx.x == 0) out[blockIdx.x] = from_f<T>(s);
}

template <class T>
__global__ void sum_squares_kernel(const T* x, int64_t n, double* partial) {
  __shared__ double part[32];
  double s = 0;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const double v = to_f(x[i]);
    s += v * v;
  }
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0;
    for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) t += part[w];
    partial[blockIdx.x] = t;
  }
}

__device__ __forceinline__ uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Box-Muller on two 24-bit uniforms drawn from the hash of (seed, i).
template <class T>
__global__ void normal_kernel(T* out, int64_t n, uint64_t seed, float mean, float std) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const uint64_t h = mix64(seed ^ mix64(static_cast<uint64_t>(i)));
    const float u1 = (static_cast<float>(h >> 40) + 0.5f) * (1.f / 16777216.f);
    const float u2 = static_cast<float>((h >> 16) & 0xffffffu) * (1.f / 16777216.f);
    const float z = sqrtf(-2.f * logf(u1)) * cospif(2.f * u2);
    out[i] = from_f<T>(mean + std * z);
  }
}

void check_on_gpu(const Tensor& t, const char* what) {
  GT_CHECK(t.device() == Device::CUDA, what, ": expected a CUDA tensor, got one on the ", device_name(t.device()));
}

}  // namespace

void copy(const Tensor& dst, const Tensor& src) {
  GT_CHECK(dst.shape() == src.shape(), "cuda::copy: shape ", src.str(), " into ", dst.str());
  check_on_gpu(dst, "cuda::copy");
  check_on_gpu(src, "cuda::copy");
  const int64_t n = dst.numel();
  if (n == 0) return;
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    copy_on_device(dst.raw(), src.raw(), static_cast<size_t>(n) * dtype_size(dst.dtype()));
    return;
  }
  const bool dense = dst.is_contiguous() && src.is_contiguous();
  const Walk w = make_walk(dst, src, nullptr, "cuda::copy");
  with_any(dst.dtype(), [&](auto dt) {
    using D = typename decltype(dt)::type;
    with_any(src.dtype(), [&](auto st) {
      using S = typename decltype(st)::type;
      if (dense)
        copy_dense<D, S><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(mptr<D>(dst), cptr<S>(src), n);
      else
        copy_strided<D, S><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(w, mptr<D>(dst), cptr<S>(src), n);
    });
  });
  check_launch("copy");
}

void binary(Binary op, const Tensor& a, const Tensor& b, const Tensor& out) {
  GT_CHECK(a.dtype() == out.dtype() && b.dtype() == out.dtype() && out.is_contiguous() && a.shape() == out.shape() &&
               b.shape() == out.shape(),
           "cuda::binary: operands ", a.str(), ", ", b.str(), " do not match the output ", out.str());
  const int64_t n = out.numel();
  if (n == 0) return;
  const bool dense = a.is_contiguous() && b.is_contiguous();
  const Walk w = make_walk(a, b, &out, "cuda::binary");
  with_float(out.dtype(), "cuda::binary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    auto launch = [&](auto opc) {
      constexpr Binary OP = decltype(opc)::value;
      if (dense)
        binary_dense<T, OP><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(cptr<T>(a), cptr<T>(b), mptr<T>(out), n);
      else
        binary_strided<T, OP>
            <<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(w, cptr<T>(a), cptr<T>(b), mptr<T>(out), n);
    };
    switch (op) {
      case Binary::Add: launch(std::integral_constant<Binary, Binary::Add>{}); break;
      case Binary::Sub: launch(std::integral_constant<Binary, Binary::Sub>{}); break;
      case Binary::Mul: launch(std::integral_constant<Binary, Binary::Mul>{}); break;
      case Binary::Div: launch(std::integral_constant<Binary, Binary::Div>{}); break;
    }
  });
  check_launch("binary");
}

void scale(const Tensor& x, float s, const Tensor& out) {
  GT_CHECK(x.dtype() == out.dtype() && x.is_contiguous() && out.is_contiguous() && x.numel() == out.numel(),
           "cuda::scale: ", x.str(), " into ", out.str());
  const int64_t n = out.numel();
  if (n == 0) return;
  with_float(out.dtype(), "cuda::scale", [&](auto tag) {
    using T = typename decltype(tag)::type;
    scale_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(cptr<T>(x), s, mptr<T>(out), n);
  });
  check_launch("scale");
}

void unary(Unary op, const Tensor& a, const Tensor& b, float cap, const Tensor& out) {
  const bool two = op == Unary::GeluBackward || op == Unary::SoftcapBackward;
  GT_CHECK(a.dtype() == out.dtype() && a.is_contiguous() && out.is_contiguous() && a.numel() == out.numel() &&
               (!two || (b.dtype() == out.dtype() && b.is_contiguous() && b.numel() == out.numel())),
           "cuda::unary: operands ", a.str(), two ? ", " + b.str() : std::string(), " do not match ", out.str());
  const int64_t n = out.numel();
  if (n == 0) return;
  with_float(out.dtype(), "cuda::unary", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* bp = two ? cptr<T>(b) : nullptr;
    auto launch = [&](auto opc) {
      unary_kernel<T, decltype(opc)::value>
          <<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(cptr<T>(a), bp, cap, mptr<T>(out), n);
    };
    switch (op) {
      case Unary::Gelu: launch(std::integral_constant<Unary, Unary::Gelu>{}); break;
      case Unary::GeluBackward: launch(std::integral_constant<Unary, Unary::GeluBackward>{}); break;
      case Unary::Softcap: launch(std::integral_constant<Unary, Unary::Softcap>{}); break;
      case Unary::SoftcapBackward: launch(std::integral_constant<Unary, Unary::SoftcapBackward>{}); break;
    }
  });
  check_launch("unary");
}

void gelu_mul(const Tensor& a, const Tensor& b, const Tensor& out) {
  GT_CHECK(a.dtype() == out.dtype() && b.dtype() == out.dtype() && a.is_contiguous() && b.is_contiguous() &&
               out.is_contiguous() && a.numel() == out.numel() && b.numel() == out.numel(),
           "cuda::gelu_mul: operands ", a.str(), ", ", b.str(), " do not match ", out.str());
  const int64_t n = out.numel();
  if (n == 0) return;
  with_float(out.dtype(), "cuda::gelu_mul", [&](auto tag) {
    using T = typename decltype(tag)::type;
    gelu_mul_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(cptr<T>(a), cptr<T>(b), mptr<T>(out), n);
  });
  check_launch("gelu_mul");
}

void gelu_mul_backward(const Tensor& a, const Tensor& b, const Tensor& gy, const Tensor& da, const Tensor& db) {
  const int64_t n = a.numel();
  auto fits = [&](const Tensor& t) { return t.dtype() == a.dtype() && t.is_contiguous() && t.numel() == n; };
  GT_CHECK(fits(a) && fits(b) && fits(gy) && (!da.defined() || fits(da)) && (!db.defined() || fits(db)),
           "cuda::gelu_mul_backward: operands ", a.str(), ", ", b.str(), ", ", gy.str(), " do not match");
  if (n == 0 || (!da.defined() && !db.defined())) return;
  with_float(a.dtype(), "cuda::gelu_mul_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    gelu_mul_backward_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(
        cptr<T>(a), cptr<T>(b), cptr<T>(gy), da.defined() ? mptr<T>(da) : nullptr,
        db.defined() ? mptr<T>(db) : nullptr, n);
  });
  check_launch("gelu_mul_backward");
}

void row_sum(const Tensor& src, const Tensor& out) {
  GT_CHECK(src.is_contiguous() && out.is_contiguous() && src.dtype() == out.dtype() && out.numel() > 0 &&
               src.numel() % out.numel() == 0,
           "cuda::row_sum: ", src.str(), " into ", out.str());
  const int64_t rows = out.numel(), run = src.numel() / rows;
  GT_CHECK(rows < (int64_t{1} << 31), "cuda::row_sum: too many rows (", rows, ")");
  with_float(out.dtype(), "cuda::row_sum", [&](auto tag) {
    using T = typename decltype(tag)::type;
    row_sum_kernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream()>>>(cptr<T>(src), run, mptr<T>(out));
  });
  check_launch("row_sum");
}

void fill_normal(const Tensor& t, uint64_t seed, float mean, float std) {
  GT_CHECK(t.is_contiguous(), "cuda::fill_normal: contiguous tensor expected, got ", t.str());
  const int64_t n = t.numel();
  if (n == 0) return;
  with_float(t.dtype(), "cuda::fill_normal", [&](auto tag) {
    using T = typename decltype(tag)::type;
    normal_kernel<T><<<std::min<unsigned>(blocks_for(n, kThreads), 65536u), kThreads, 0, stream()>>>(
        mptr<T>(t), n, seed, mean, std);
  });
  check_launch("fill_normal");
}

double sum_squares(const Tensor& t) {
  GT_CHECK(t.is_contiguous(), "cuda::sum_squares: contiguous tensor expected, got ", t.str());
  const int64_t n = t.numel();
  if (n == 0) return 0.0;
  const unsigned blocks = std::min<unsigned>(blocks_for(n, kThreads), 1024u);
  std::vector<double> host(blocks);
  Tensor partial = Tensor::empty({static_cast<int64_t>(blocks)}, DType::I64, Device::CUDA);  // doubles
  with_float(t.dtype(), "cuda::sum_squares", [&](auto tag) {
    using T = typename decltype(tag)::type;
    sum_squares_kernel<T><<<blocks, kThreads, 0, stream()>>>(cptr<T>(t), n, static_cast<double*>(partial.raw()));
  });
  check_launch("sum_squares");
  copy_to_host(host.data(), partial.raw(), blocks * sizeof(double));
  double s = 0;
  for (double v : host) s += v;
  return s;
}

}  // namespace gt::cuda
