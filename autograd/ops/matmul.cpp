// Matrix products: matmul (batched, broadcasting) and linear (x @ w^T), on OpenBLAS or, for GPU tensors, cuBLASLt.
#include <algorithm>

#include "autograd/blas.h"
#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "base/error.h"

namespace gt {

namespace {

// How BLAS sees a 2-D slab with the given row and column strides: row-major as is, or as the transpose of a
// row-major matrix. Anything else needs a copy first.
struct MatView {
  bool ok = false;
  bool trans = false;
  int64_t ld = 0;
};

MatView as_blas(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (cs == 1 && (rs >= std::max<int64_t>(cols, 1) || rows == 1)) return {true, false, rows == 1 ? std::max<int64_t>(cols, 1) : rs};
  if (rs == 1 && (cs >= std::max<int64_t>(rows, 1) || cols == 1)) return {true, true, cols == 1 ? std::max<int64_t>(rows, 1) : cs};
  return {};
}

// A float32 view whose last two dims BLAS can read directly (copying only when it must).
Tensor blas_ready(const Tensor& t) {
  Tensor f = t.dtype() == DType::F32 ? t : dense_f32(t);
  const int64_t n = f.dim();
  if (!as_blas(f.size(n - 2), f.size(n - 1), f.strides()[static_cast<size_t>(n - 2)],
               f.strides()[static_cast<size_t>(n - 1)]).ok)
    f = dense_f32(f.contiguous());
  return f;
}

// c[m, n] (contiguous, ldc = n) = a[m, k] @ b[k, n] for 2-D views of any BLAS-readable layout.
void gemm_views(const float* a, const MatView& va, const float* b, const MatView& vb, float* c, int64_t m, int64_t n,
                int64_t k, float beta) {
  sgemm(va.trans, vb.trans, m, n, k, 1.f, a, va.ld, b, vb.ld, beta, c, n);
}

// Can the leading (batch) dims of `a` be folded into its rows, i.e. is a[..., M, K] one [R, K] row-major matrix?
bool rows_fold(const Tensor& a) {
  const int64_t n = a.dim();
  if (a.strides()[static_cast<size_t>(n - 1)] != 1) return false;
  int64_t expect = a.strides()[static_cast<size_t>(n - 2)] * a.size(n - 2);
  for (int64_t d = n - 3; d >= 0; --d) {
    if (a.size(d) != 1 && a.strides()[static_cast<size_t>(d)] != expect) return false;
    expect *= a.size(d);
  }
  return true;
}

// A batched product's shapes: the broadcast batch dims, then a as [..., M, K], b as [..., K, N], the result as
// [..., M, N].
struct BatchShapes {
  Shape batch, a, b, out;
};

BatchShapes batch_shapes(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  const Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  BatchShapes s;
  s.batch = broadcast_shapes(ba, bb, "matmul");
  s.a = s.b = s.out = s.batch;
  s.a.insert(s.a.end(), {M, K});
  s.b.insert(s.b.end(), {K, N});
  s.out.insert(s.out.end(), {M, N});
  return s;
}

// Row-major c[m, n] = a[m, k] @ b[k, n] (or the transposes) on the GPU; see cuda::Gemm.
void gpu_gemm(const Tensor& a, const Tensor& b, const Tensor& c, cuda::Gemm g) {
  cuda::gemm(g, a.dtype(), a.raw(), b.raw(), c.dtype(), c.raw());
}

// On the GPU the operands are made dense in the result dtype (broadcast batch dims expanded), then one strided
// batched product runs; a 2-D b folds every batch row into a single product.
Tensor matmul_forward_cuda(const Tensor& a_in, const Tensor& b_in) {
  const int64_t M = a_in.size(-2), K = a_in.size(-1), N = b_in.size(-1);
  const DType dt = result_dtype({a_in, b_in});
  NoGradGuard ng;
  if (b_in.dim() == 2) {
    const Tensor a = dense_as(a_in, dt), b = dense_as(b_in, dt);
    Shape out_shape = a.shape();
    out_shape.back() = N;
    Tensor out = Tensor::empty(out_shape, dt, Device::CUDA);
    cuda::Gemm g;
    g.m = a.numel() / std::max<int64_t>(K, 1), g.n = N, g.k = K, g.lda = K, g.ldb = N, g.ldc = N;
    gpu_gemm(a, b, out, g);
    return out;
  }
  const BatchShapes s = batch_shapes(a_in, b_in);
  const Tensor a = dense_as(a_in.expand(s.a), dt), b = dense_as(b_in.expand(s.b), dt);
  Tensor out = Tensor::empty(s.out, dt, Device::CUDA);
  cuda::Gemm g;
  g.m = M, g.n = N, g.k = K, g.lda = K, g.ldb = N, g.ldc = N;
  g.batch = shape_numel(s.batch), g.sa = M * K, g.sb = K * N, g.sc = M * N;
  if (g.batch > 0) gpu_gemm(a, b, out, g);
  return out;
}

Tensor matmul_forward(const Tensor& a_in, const Tensor& b_in) {
  if (same_device("matmul", {a_in, b_in}) == Device::CUDA) return matmul_forward_cuda(a_in, b_in);
  const int64_t M = a_in.size(-2), K = a_in.size(-1), N = b_in.size(-1);
  if (b_in.dim() == 2 && a_in.dim() >= 2) {
    Tensor a = blas_ready(a_in);
    // A 2-D left operand goes to BLAS as it is (transposed or not); a batched one must fold into [R, K] rows.
    if (a.dim() > 2 && !rows_fold(a)) a = dense_f32(a.contiguous());
    const Tensor b = blas_ready(b_in);
    Shape out_shape = a.shape();
    out_shape.back() = N;
    Tensor out = Tensor::empty(out_shape);
    const int64_t R = a.numel() / std::max<int64_t>(K, 1);
    const MatView va = a.dim() == 2 ? as_blas(M, K, a.strides()[0], a.strides()[1])
                                    : as_blas(R, K, a.strides()[static_cast<size_t>(a.dim() - 2)], 1);
    const MatView vb = as_blas(K, N, b.strides()[0], b.strides()[1]);
    if (K == 0) return Tensor::zeros(out_shape);
    gemm_views(a.data<float>(), va, b.data<float>(), vb, out.data<float>(), R, N, K, 0.f);
    return out;
  }
  // General batched case: broadcast the batch dims, one GEMM per batch entry.
  const BatchShapes s = batch_shapes(a_in, b_in);
  const Shape& batch = s.batch;
  const Tensor a = blas_ready(a_in).expand(s.a), b = blas_ready(b_in).expand(s.b);
  Tensor out = K == 0 ? Tensor::zeros(s.out) : Tensor::empty(s.out);
  if (K == 0) return out;
  const int64_t nb = shape_numel(batch), nd = static_cast<int64_t>(batch.size());
  const MatView va = as_blas(M, K, a.strides()[static_cast<size_t>(nd)], a.strides()[static_cast<size_t>(nd + 1)]);
  const MatView vb = as_blas(K, N, b.strides()[static_cast<size_t>(nd)], b.strides()[static_cast<size_t>(nd + 1)]);
  for (int64_t i = 0; i < nb; ++i) {
    int64_t rem = i, ao = 0, bo = 0;
    for (int64_t d = nd - 1; d >= 0; --d) {
      const int64_t idx = rem % batch[static_cast<size_t>(d)];
      rem /= batch[static_cast<size_t>(d)];
      ao += idx * a.strides()[static_cast<size_t>(d)];
      bo += idx * b.strides()[static_cast<size_t>(d)];
    }
    gemm_views(a.data<float>() + ao, va, b.data<float>() + bo, vb, out.data<float>() + i * M * N, M, N, K, 0.f);
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  GT_CHECK(a.defined() && b.defined(), "matmul: undefined operand");
  GT_CHECK(is_floating(a.dtype()) && is_floating(b.dtype()), "matmul: float tensors expected, got ", a.str(),
           " and ", b.str());
  GT_CHECK(a.dim() >= 2 && b.dim() >= 2 && a.size(-1) == b.size(-2), "matmul: shapes ", a.str(), " and ",
           b.str(), " do not fit (need [..., M, K] x [..., K, N])");
  Tensor out = matmul_forward(a, b);
  if (any_requires_grad({a, b})) {
    const Tensor sa = a.detach(), sb = b.detach();
    record("matmul", {a, b}, {out}, [sa, sb](GradSink& g) {
      const Tensor& go = g.out();
      if (g.needs(0)) g.add(0, sum_to(matmul_forward(go, sb.transpose(-1, -2)), sa.shape()));
      if (g.needs(1)) {
        if (sb.dim() == 2) {
          // Fold every batch row into one GEMM: b^T-grad = a_flat^T @ g_flat.
          const Tensor af = dense_f32(sa.contiguous()).reshape({-1, sa.size(-1)});
          const Tensor gf = go.reshape({-1, go.size(-1)});
          g.add(1, matmul_forward(af.transpose(0, 1), gf));
        } else {
          g.add(1, sum_to(matmul_forward(sa.transpose(-1, -2), go), sb.shape()));
        }
      }
    });
  }
  return out;
}

namespace {

// linear on the GPU: out [R, N] = x [R, K] w[N, K]^T in the result dtype; dx in that dtype, dw in f32 (a weight's
// gradient is f32 whatever its storage).
Tensor linear_cuda(const Tensor& x, const Tensor& w) {
  const int64_t K = w.size(1), N = w.size(0);
  const DType dt = result_dtype({x, w});
  const Tensor xf = dense_as(x, dt), wf = dense_as(w, dt);
  const int64_t R = xf.numel() / std::max<int64_t>(K, 1);
  Shape out_shape = x.shape();
  out_shape.back() = N;
  Tensor out = Tensor::empty(out_shape, dt, Device::CUDA);
  cuda::Gemm f;
  f.trans_b = true, f.m = R, f.n = N, f.k = K, f.lda = K, f.ldb = K, f.ldc = N;
  gpu_gemm(xf, wf, out, f);
  if (any_requires_grad({x, w})) {
    record("linear", {x, w}, {out}, [sx = xf.detach(), sw = wf.detach(), R, N, K](GradSink& g) {
      const Tensor& go = g.out();
      const Tensor gd = go.dtype() == sw.dtype() ? go : dense_as(go, sw.dtype());
      if (g.needs(0)) {
        Shape xs = go.shape();
        xs.back() = K;
        Tensor gx = Tensor::empty(xs, sw.dtype(), Device::CUDA);
        cuda::Gemm b;
        b.m = R, b.n = K, b.k = N, b.lda = N, b.ldb = K, b.ldc = K;
        gpu_gemm(gd, sw, gx, b);
        g.add(0, gx);
      }
      if (g.needs(1)) {
        Tensor gw = Tensor::empty({N, K}, DType::F32, Device::CUDA);
        cuda::Gemm b;
        b.trans_a = true, b.m = N, b.n = K, b.k = R, b.lda = N, b.ldb = K, b.ldc = K;
        gpu_gemm(gd, sx, gw, b);
        g.add(1, gw);
      }
    });
  }
  return out;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w) {
  GT_CHECK(x.defined() && w.defined(), "linear: undefined operand");
  GT_CHECK(w.dim() == 2 && x.dim() >= 1 && x.size(-1) == w.size(1), "linear: input ", x.str(), " and weight ",
           w.str(), " do not fit (need [..., K] and [N, K])");
  GT_CHECK(is_floating(x.dtype()) && is_floating(w.dtype()), "linear: float tensors expected, got ", x.str(),
           " and ", w.str());
  if (same_device("linear", {x, w}) == Device::CUDA) return linear_cuda(x, w);
  const int64_t K = w.size(1), N = w.size(0);
  const Tensor xf = dense_f32(x.contiguous()), wf = dense_f32(w.contiguous());
  const int64_t R = xf.numel() / std::max<int64_t>(K, 1);
  Shape out_shape = x.shape();
  out_shape.back() = N;
  Tensor out = K == 0 ? Tensor::zeros(out_shape) : Tensor::empty(out_shape);
  sgemm(false, true, R, N, K, 1.f, xf.data<float>(), K, wf.data<float>(), K, 0.f, out.data<float>(), N);
  if (any_requires_grad({x, w})) {
    const Tensor sx = xf.detach(), sw = wf.detach();
    record("linear", {x, w}, {out}, [sx, sw, R, N, K](GradSink& g) {
      const float* go = g.out().data<float>();
      if (g.needs(0)) {
        Shape xs = g.out().shape();
        xs.back() = K;
        Tensor gx = Tensor::empty(xs);
        sgemm(false, false, R, K, N, 1.f, go, N, sw.data<float>(), K, 0.f, gx.data<float>(), K);
        g.add(0, gx);
      }
      if (g.needs(1)) {
        Tensor gw = Tensor::empty({N, K});
        sgemm(true, false, N, K, R, 1.f, go, N, sx.data<float>(), K, 0.f, gw.data<float>(), K);
        g.add(1, gw);
      }
    });
  }
  return out;
}

}  // namespace gt
