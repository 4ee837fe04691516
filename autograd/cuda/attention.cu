// Attention on the GPU for GQA/MQA, forward and backward, in the [B, T, H, D] layout (ops.h: attention): the
// entry points and the products path; attention_tiled.cu holds the FlashAttention path, attention_rows.cuh what
// the two share.
//
// While the scores are small (training lengths of E2B: 8 x 1024 x 1024 per layer), the products path is faster:
// per kv group (one product batched over the batch entries), S = Q K^T (f32), a row kernel masks and normalises it (P in the operands' dtype,
// lse in f32), O = P V; the backward recomputes S, forms dP = dO V^T, a row kernel gives P and
// dS = P (dP - sum_j P dP) scale, and dV = P^T dO, dK = dS^T Q, dQ = dS K. All products on cuBLASLt with f32
// accumulation; nothing is saved but lse, as in the tiled path.
#include <algorithm>
#include <cmath>

#include "autograd/autograd.h"
#include "autograd/cuda/attention_rows.cuh"
#include "autograd/cuda/device_math.cuh"

namespace gt::cuda {

using namespace attention_detail;

namespace {

void check_shape(const AttentionShape& s) {
  GT_CHECK(s.Hkv > 0 && s.Hq % s.Hkv == 0, "cuda::attention: ", s.Hq, " query heads for ", s.Hkv, " kv heads");
  GT_CHECK(s.D <= 512 && s.Dv <= 512, "cuda::attention: head dims up to 512 on the GPU, got ", s.D, " and ", s.Dv);
  GT_CHECK(s.B * s.Hkv < 65536, "cuda::attention: batch x kv heads too large (", s.B * s.Hkv, ")");
}

AttentionKernel g_kernel = AttentionKernel::Auto;

// Auto: bf16 takes the products (tensor cores) while the scores fit; f32, the precision path, takes the tiled
// kernel, whose sums follow the CPU's (the golden fixtures agree with transformers to 4e-5 that way, 1.1e-4 through
// the products, against the CPU's 1e-4 bound).
bool use_products(const AttentionShape& s, DType dt) {
  if (g_kernel != AttentionKernel::Auto) return g_kernel == AttentionKernel::Products;
  return dt == DType::BF16 && s.B * s.Hq * s.T * s.S <= (int64_t{1} << 26);
}

// Stacked row `row` of the scores [B, Hkv, R = T G, S]: its batch entry, kv group and query position.
struct RowAt {
  int64_t b, g, r, t, lse_at;
};
__device__ __forceinline__ RowAt row_at(const Params& p, int64_t row) {
  RowAt x;
  const int64_t R = p.T * p.G;
  x.r = row % R;
  x.g = (row / R) % p.Hkv;
  x.b = row / (R * p.Hkv);
  x.t = x.r / p.G;
  x.lse_at = (x.b * p.T + x.t) * p.Hq + x.g * p.G + x.r % p.G;
  return x;
}

// P = softmax(scale S) over the visible keys (0 elsewhere), written in the operands' dtype; lse in f32.
template <class T>
__global__ void softmax_rows(Params p, const float* scores, T* probs, float* lse) {
  const RowAt x = row_at(p, blockIdx.x);
  const float* srow = scores + blockIdx.x * p.S;
  T* prow = probs + blockIdx.x * p.S;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < p.S; j += blockDim.x)
    if (visible(p, x.b, x.t, j)) m = fmaxf(m, srow[j] * p.scale);
  m = block_max(m);
  float sum = 0.f;
  if (m != -INFINITY)
    for (int64_t j = threadIdx.x; j < p.S; j += blockDim.x)
      if (visible(p, x.b, x.t, j)) sum += expf(srow[j] * p.scale - m);
  sum = block_sum(sum);
  const float l = sum > 0.f ? m + logf(sum) : -INFINITY;
  for (int64_t j = threadIdx.x; j < p.S; j += blockDim.x)
    prow[j] = from_f<T>(l != -INFINITY && visible(p, x.b, x.t, j) ? expf(srow[j] * p.scale - l) : 0.f);
  if (lse && threadIdx.x == 0) lse[x.lse_at] = l;
}

// From the recomputed scores and dP = dO V^T: P and dS = P (dP - sum_j P dP) scale, both in the operands' dtype.
// sum_j P_j dP_j equals dO . O (O = P V), computed here from the unrounded P.
template <class T>
__global__ void softmax_grad_rows(Params p, const float* scores, const float* dprobs, const float* lse, T* probs,
                                  T* dscores) {
  const RowAt x = row_at(p, blockIdx.x);
  const float* srow = scores + blockIdx.x * p.S;
  const float* dprow = dprobs + blockIdx.x * p.S;
  const float l = lse[x.lse_at];
  float di = 0.f;
  for (int64_t j = threadIdx.x; j < p.S; j += blockDim.x)
    if (l != -INFINITY && visible(p, x.b, x.t, j)) di += expf(srow[j] * p.scale - l) * dprow[j];
  di = block_sum(di);
  for (int64_t j = threadIdx.x; j < p.S; j += blockDim.x) {
    const float pr = l != -INFINITY && visible(p, x.b, x.t, j) ? expf(srow[j] * p.scale - l) : 0.f;
    probs[blockIdx.x * p.S + j] = from_f<T>(pr);
    dscores[blockIdx.x * p.S + j] = from_f<T>(pr * (dprow[j] - di) * p.scale);
  }
}

// Query-side tensors [B, T, Hq, W] as stacked rows [B, Hkv, T G, W]: a view when Hkv = 1, else a copy.
Tensor stacked(const Tensor& x, const AttentionShape& s, int64_t W) {
  NoGradGuard ng;
  if (s.Hkv == 1) return x;
  return x.reshape({s.B, s.T, s.Hkv, s.Hq / s.Hkv, W}).permute({0, 2, 1, 3, 4}).contiguous();
}
// The inverse: stacked rows back into [B, T, Hq, W] (into `dst`, already that shape).
void unstack(const Tensor& rows, const AttentionShape& s, int64_t W, const Tensor& dst) {
  NoGradGuard ng;
  if (rows.same(dst)) return;
  dst.reshape({s.B, s.T, s.Hkv, s.Hq / s.Hkv, W}).permute({0, 2, 1, 3, 4}).copy_from(
      rows.reshape({s.B, s.Hkv, s.T, s.Hq / s.Hkv, W}));
}

template <class T>
void products_forward(const AttentionShape& s, const Params& p, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& out, const Tensor& lse) {
  const int64_t R = s.T * p.G;
  const DType dt = q.dtype();
  const Tensor qs = stacked(q, s, s.D);
  const Tensor os = s.Hkv == 1 ? out : Tensor::empty({s.B, s.Hkv, R, s.Dv}, dt, Device::CUDA);
  const Tensor scores = Tensor::empty({s.B, s.Hkv, R, s.S}, DType::F32, Device::CUDA);
  const Tensor probs = Tensor::empty({s.B, s.Hkv, R, s.S}, dt, Device::CUDA);
  const size_t es = dtype_size(dt);
  auto at = [es](const Tensor& t, int64_t elems) { return static_cast<char*>(t.raw()) + elems * es; };
  // One product per kv group, batched over the batch entries (strided: [B, Hkv, R, .] rows, [B, S, Hkv, .] keys).
  for (int64_t g = 0; g < s.Hkv; ++g) {
    Gemm sg;
    sg.trans_b = true, sg.m = R, sg.n = s.S, sg.k = s.D, sg.lda = s.D, sg.ldb = s.Hkv * s.D, sg.ldc = s.S;
    sg.batch = s.B, sg.sa = s.Hkv * R * s.D, sg.sb = s.S * s.Hkv * s.D, sg.sc = s.Hkv * R * s.S;
    gemm(sg, dt, at(qs, g * R * s.D), at(k, g * s.D), DType::F32, static_cast<float*>(scores.raw()) + g * R * s.S);
  }
  softmax_rows<T><<<static_cast<unsigned>(s.B * s.Hkv * R), kThreads, 0, stream()>>>(
      p, cptr<float>(scores), mptr<T>(probs), lse.defined() ? mptr<float>(lse) : nullptr);
  check_launch("attention softmax_rows");
  for (int64_t g = 0; g < s.Hkv; ++g) {
    Gemm og;
    og.m = R, og.n = s.Dv, og.k = s.S, og.lda = s.S, og.ldb = s.Hkv * s.Dv, og.ldc = s.Dv;
    og.batch = s.B, og.sa = s.Hkv * R * s.S, og.sb = s.S * s.Hkv * s.Dv, og.sc = s.Hkv * R * s.Dv;
    gemm(og, dt, at(probs, g * R * s.S), at(v, g * s.Dv), dt, at(os, g * R * s.Dv));
  }
  unstack(os, s, s.Dv, out);
}

template <class T>
void products_backward(const AttentionShape& s, const Params& p, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& lse, const Tensor& dout, const Tensor& dq, const Tensor& dk, const Tensor& dv) {
  const int64_t R = s.T * p.G;
  const DType dt = q.dtype();
  const size_t es = dtype_size(dt);
  const Tensor qs = stacked(q, s, s.D), dos = stacked(dout, s, s.Dv);
  const Tensor dqs = !dq.defined() || s.Hkv == 1 ? dq : Tensor::empty({s.B, s.Hkv, R, s.D}, dt, Device::CUDA);
  const Tensor scores = Tensor::empty({s.B, s.Hkv, R, s.S}, DType::F32, Device::CUDA);
  const Tensor dprobs = Tensor::empty({s.B, s.Hkv, R, s.S}, DType::F32, Device::CUDA);
  const Tensor probs = Tensor::empty({s.B, s.Hkv, R, s.S}, dt, Device::CUDA);
  const Tensor dscores = Tensor::empty({s.B, s.Hkv, R, s.S}, dt, Device::CUDA);
  auto at = [es](const Tensor& t, int64_t elems) { return static_cast<char*>(t.raw()) + elems * es; };
  // As in the forward: per kv group, batched over the batch entries.
  const int64_t s_rows = s.Hkv * R, s_keys = s.S * s.Hkv;  // batch strides in rows of the two layouts
  for (int64_t g = 0; g < s.Hkv; ++g) {
    Gemm sg;
    sg.trans_b = true, sg.m = R, sg.n = s.S, sg.k = s.D, sg.lda = s.D, sg.ldb = s.Hkv * s.D, sg.ldc = s.S;
    sg.batch = s.B, sg.sa = s_rows * s.D, sg.sb = s_keys * s.D, sg.sc = s_rows * s.S;
    gemm(sg, dt, at(qs, g * R * s.D), at(k, g * s.D), DType::F32, static_cast<float*>(scores.raw()) + g * R * s.S);
    Gemm pg;
    pg.trans_b = true, pg.m = R, pg.n = s.S, pg.k = s.Dv, pg.lda = s.Dv, pg.ldb = s.Hkv * s.Dv, pg.ldc = s.S;
    pg.batch = s.B, pg.sa = s_rows * s.Dv, pg.sb = s_keys * s.Dv, pg.sc = s_rows * s.S;
    gemm(pg, dt, at(dos, g * R * s.Dv), at(v, g * s.Dv), DType::F32, static_cast<float*>(dprobs.raw()) + g * R * s.S);
  }
  softmax_grad_rows<T><<<static_cast<unsigned>(s.B * s.Hkv * R), kThreads, 0, stream()>>>(
      p, cptr<float>(scores), cptr<float>(dprobs), cptr<float>(lse), mptr<T>(probs), mptr<T>(dscores));
  check_launch("attention softmax_grad_rows");
  for (int64_t g = 0; g < s.Hkv; ++g) {
    if (dv.defined()) {
      Gemm vg;
      vg.trans_a = true, vg.m = s.S, vg.n = s.Dv, vg.k = R, vg.lda = s.S, vg.ldb = s.Dv, vg.ldc = s.Hkv * s.Dv;
      vg.batch = s.B, vg.sa = s_rows * s.S, vg.sb = s_rows * s.Dv, vg.sc = s_keys * s.Dv;
      gemm(vg, dt, at(probs, g * R * s.S), at(dos, g * R * s.Dv), dt, at(dv, g * s.Dv));
    }
    if (dk.defined()) {
      Gemm kg;
      kg.trans_a = true, kg.m = s.S, kg.n = s.D, kg.k = R, kg.lda = s.S, kg.ldb = s.D, kg.ldc = s.Hkv * s.D;
      kg.batch = s.B, kg.sa = s_rows * s.S, kg.sb = s_rows * s.D, kg.sc = s_keys * s.D;
      gemm(kg, dt, at(dscores, g * R * s.S), at(qs, g * R * s.D), dt, at(dk, g * s.D));
    }
    if (dq.defined()) {
      Gemm qg;
      qg.m = R, qg.n = s.D, qg.k = s.S, qg.lda = s.S, qg.ldb = s.Hkv * s.D, qg.ldc = s.D;
      qg.batch = s.B, qg.sa = s_rows * s.S, qg.sb = s_keys * s.D, qg.sc = s_rows * s.D;
      gemm(qg, dt, at(dscores, g * R * s.S), at(k, g * s.D), dt, at(dqs, g * R * s.D));
    }
  }
  if (dq.defined()) unstack(dqs, s, s.D, dq);
}

}  // namespace

void set_attention_kernel(AttentionKernel k) { g_kernel = k; }

void attention_forward(const AttentionShape& s, const Tensor& q, const Tensor& k, const Tensor& v,
                       const AttentionMasks& masks, const Tensor& out, const Tensor& lse) {
  check_shape(s);
  if (s.B * s.T * s.Hq == 0) return;
  const Params p = make_params(s, masks);
  if (use_products(s, q.dtype()) && s.S > 0) {
    with_float(q.dtype(), "cuda::attention", [&](auto tag) {
      products_forward<typename decltype(tag)::type>(s, p, q, k, v, out, lse);
    });
    return;
  }
  tiled_forward(s, p, q, k, v, out, lse);
}

void attention_backward(const AttentionShape& s, const Tensor& q, const Tensor& k, const Tensor& v,
                        const AttentionMasks& masks, const Tensor& out, const Tensor& lse, const Tensor& dout,
                        const Tensor& dq, const Tensor& dk, const Tensor& dv) {
  check_shape(s);
  const Params p = make_params(s, masks);
  if (use_products(s, q.dtype()) && s.S > 0 && s.T > 0) {
    with_float(q.dtype(), "cuda::attention_backward", [&](auto tag) {
      products_backward<typename decltype(tag)::type>(s, p, q, k, v, lse, dout, dq, dk, dv);
    });
    return;
  }
  tiled_backward(s, p, q, k, v, out, lse, dout, dq, dk, dv);
}

}  // namespace gt::cuda
