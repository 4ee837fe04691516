// RMSNorm over the last dimension, in float32 (docs/model.md §2.1; backward §5).
#include <algorithm>
#include <cmath>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {

namespace {

// On the GPU the output keeps x's dtype (transformers: y.to(x.dtype)); statistics and dw are f32.
Tensor rms_norm_cuda(const Tensor& x, const Tensor& weight, double eps) {
  const int64_t D = x.size(-1), R = D ? x.numel() / D : 0;
  const Tensor xc = dense_as(x, x.dtype());
  const Tensor wc = weight.defined() ? dense_as(weight, weight.dtype()) : Tensor();
  Tensor out = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  Tensor rinv = Tensor::empty({R}, DType::F32, Device::CUDA);
  cuda::rms_norm_forward(xc, wc, static_cast<float>(eps), out, rinv);
  if (any_requires_grad({x, weight})) {
    record("rms_norm", {x, weight}, {out}, [xs = xc.detach(), ws = wc.defined() ? wc.detach() : Tensor(), rinv,
                                            D](GradSink& g) {
      const Tensor& go = g.out();
      Tensor dx = g.needs(0) ? Tensor::empty(go.shape(), go.dtype(), Device::CUDA) : Tensor();
      Tensor dw = g.needs(1) ? Tensor::empty({D}, DType::F32, Device::CUDA) : Tensor();
      cuda::rms_norm_backward(xs, ws, rinv, go, dx, dw);
      if (dx.defined()) g.add(0, dx);
      if (dw.defined()) g.add(1, dw);
    });
  }
  return out;
}

}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  GT_CHECK(x.defined() && is_floating(x.dtype()) && x.dim() >= 1,
           "rms_norm: input must be a float tensor with at least one dim, got ", x.str());
  const int64_t D = x.size(-1);
  if (weight.defined()) {
    GT_CHECK(is_floating(weight.dtype()), "rms_norm: weight must be a float tensor, got ", weight.str());
    GT_CHECK(weight.dim() == 1 && weight.size(0) == D, "rms_norm: weight ", weight.str(),
             " does not match last dim of ", x.str());
  }
  GT_CHECK(eps >= 0, "rms_norm: eps must be >= 0, got ", eps);
  if (same_device("rms_norm", {x, weight}) == Device::CUDA) return rms_norm_cuda(x, weight, eps);
  const Tensor xf = dense_f32(x);
  const Tensor wf = weight.defined() ? dense_f32(weight) : Tensor();
  const int64_t R = D ? x.numel() / D : 0;
  Tensor out = Tensor::empty(x.shape());
  Tensor rinv = Tensor::empty({R});  // (mean(x^2) + eps)^-1/2 per row, kept for the backward
  const float* xp = xf.data<float>();
  const float* wp = wf.defined() ? wf.data<float>() : nullptr;
  float* op = out.data<float>();
  float* rp = rinv.data<float>();
  const float eps_f = static_cast<float>(eps);
  parallel_for(R, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = xp + r * D;
      double ss = 0;
      for (int64_t c = 0; c < D; ++c) ss += static_cast<double>(xr[c]) * xr[c];
      // torch.pow(ms, -0.5) runs as rsqrt, i.e. 1 / sqrt in float32: two correctly rounded steps.
      const float ms = static_cast<float>(ss / static_cast<double>(D));
      const float inv = 1.f / std::sqrt(ms + eps_f);
      rp[r] = inv;
      float* yr = op + r * D;
      // Same rounding order as transformers: (x * r) first, then * w.
      if (wp) {
        for (int64_t c = 0; c < D; ++c) yr[c] = (xr[c] * inv) * wp[c];
      } else {
        for (int64_t c = 0; c < D; ++c) yr[c] = xr[c] * inv;
      }
    }
  });

  if (any_requires_grad({x, weight})) {
    const Tensor xs = xf.detach(), ws = wf.defined() ? wf.detach() : Tensor();
    record("rms_norm", {x, weight}, {out}, [xs, ws, rinv, R, D](GradSink& g) {
      const bool need_x = g.needs(0), need_w = g.needs(1);
      const float* go = g.out().data<float>();
      const float* xp = xs.data<float>();
      const float* wp = ws.defined() ? ws.data<float>() : nullptr;
      const float* rp = rinv.data<float>();
      Tensor dx = need_x ? Tensor::empty(xs.shape()) : Tensor();
      float* dxp = need_x ? dx.data<float>() : nullptr;
      // dw sums over every row. Each chunk of rows writes its own double partial, and the partials are added in
      // chunk order; the chunks depend only on R, so dw is bit-identical for any thread count.
      const int64_t nchunks = std::min<int64_t>(R, 64), per = nchunks ? (R + nchunks - 1) / nchunks : 0;
      std::vector<double> partial(need_w ? static_cast<size_t>(nchunks * D) : 0, 0.0);
      parallel_for(nchunks, 1, [&](int64_t cb, int64_t ce) {
        for (int64_t ch = cb; ch < ce; ++ch) {
          double* pw = need_w ? partial.data() + ch * D : nullptr;
          for (int64_t r = ch * per, rend = std::min(R, (ch + 1) * per); r < rend; ++r) {
            const float* xr = xp + r * D;
            const float* gr = go + r * D;
            const float inv = rp[r];
            if (need_x) {
              // dx = r (ĝ - x r^2 mean(x ĝ)), ĝ = g w
              double dot = 0;
              for (int64_t c = 0; c < D; ++c) dot += static_cast<double>(xr[c]) * (wp ? gr[c] * wp[c] : gr[c]);
              const float k = static_cast<float>(dot / static_cast<double>(D) * inv * inv);
              float* dr = dxp + r * D;
              for (int64_t c = 0; c < D; ++c) dr[c] = inv * ((wp ? gr[c] * wp[c] : gr[c]) - xr[c] * k);
            }
            if (need_w)
              for (int64_t c = 0; c < D; ++c) pw[c] += static_cast<double>(gr[c]) * (xr[c] * inv);
          }
        }
      });
      if (need_x) g.add(0, dx);
      if (need_w) {
        Tensor dw = Tensor::empty({D});
        float* dwp = dw.data<float>();
        for (int64_t c = 0; c < D; ++c) {
          double acc = 0;
          for (int64_t ch = 0; ch < nchunks; ++ch) acc += partial[ch * D + c];
          dwp[c] = static_cast<float>(acc);
        }
        g.add(1, dw);
      }
    });
  }
  return out;
}

}  // namespace gt
