// Pointwise activations: tanh-approximated GELU, the gated GELU of the MLP, and tanh softcapping (docs/model.md
// §2.4, §2.6, §5).
#include <cmath>
#include <vector>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "autograd/vec_math.h"
#include "base/error.h"

namespace gt {

namespace {

constexpr float kGeluBeta = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float kGeluKappa = 0.044715f;

// Runs f(a, b, out, n) over ranges of two contiguous f32 tensors of the same size (b may be undefined, then null),
// in parallel. Ranges let the transcendental part run through gt::vec over whole spans.
template <class F>
Tensor ranges(const Tensor& a, const Tensor& b, F f) {
  Tensor out = Tensor::empty(a.shape());
  const float* ap = a.data<float>();
  const float* bp = b.defined() ? b.data<float>() : nullptr;
  float* o = out.data<float>();
  parallel_for(out.numel(), 1 << 14, [&](int64_t s, int64_t e) { f(ap + s, bp ? bp + s : nullptr, o + s, e - s); });
  return out;
}

// u[i] = tanh(sqrt(2/pi) (x + 0.044715 x^3)), the inner term of the GELU approximation.
void gelu_inner_tanh(const float* x, float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) u[i] = kGeluBeta * (x[i] + kGeluKappa * x[i] * x[i] * x[i]);
  vec::tanh(u, u, n);
}

// On the GPU: out in x's dtype; the backward's inputs are in that dtype too (the upstream gradient has the
// output's). `saved` is the input for gelu, the output for softcap.
Tensor unary_cuda(const char* name, cuda::Unary fwd, cuda::Unary bwd, const Tensor& x, float cap, bool save_output) {
  const Tensor xc = dense_as(x, x.dtype());
  Tensor out = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
  cuda::unary(fwd, xc, Tensor(), cap, out);
  if (any_requires_grad({x})) {
    record(name, {x}, {out}, [saved = save_output ? out.detach() : xc.detach(), bwd, cap](GradSink& g) {
      Tensor dx = Tensor::empty(saved.shape(), saved.dtype(), Device::CUDA);
      cuda::unary(bwd, dense_as(g.out(), saved.dtype()), saved, cap, dx);
      g.add(0, dx);
    });
  }
  return out;
}

}  // namespace

Tensor gelu_tanh(const Tensor& x) {
  GT_CHECK(x.defined() && is_floating(x.dtype()), "gelu_tanh: float tensor expected, got ", x.str());
  if (x.device() == Device::CUDA)
    return unary_cuda("gelu_tanh", cuda::Unary::Gelu, cuda::Unary::GeluBackward, x, 0.f, false);
  const Tensor xf = dense_f32(x);
  Tensor out = ranges(xf, Tensor(), [](const float* x, const float*, float* o, int64_t n) {
    gelu_inner_tanh(x, o, n);
    for (int64_t i = 0; i < n; ++i) o[i] = 0.5f * x[i] * (1.f + o[i]);
  });
  if (any_requires_grad({x})) {
    record("gelu_tanh", {x}, {out}, [xs = xf.detach()](GradSink& g) {
      g.add(0, ranges(g.out(), xs, [](const float* gy, const float* x, float* o, int64_t n) {
        gelu_inner_tanh(x, o, n);
        for (int64_t i = 0; i < n; ++i) {
          const float v = x[i], t = o[i];
          const float slope = kGeluBeta * (1.f + 3.f * kGeluKappa * v * v);
          o[i] = gy[i] * (0.5f * (1.f + t) + 0.5f * v * (1.f - t * t) * slope);
        }
      }));
    });
  }
  return out;
}

Tensor gelu_tanh_mul(const Tensor& a, const Tensor& b) {
  GT_CHECK(a.defined() && b.defined() && is_floating(a.dtype()) && is_floating(b.dtype()),
           "gelu_tanh_mul: float tensors expected, got ", a.defined() ? a.str() : "undefined", " and ",
           b.defined() ? b.str() : "undefined");
  if (a.shape() != b.shape() || a.dtype() != b.dtype() || a.device() != b.device()) return mul(gelu_tanh(a), b);
  if (a.device() == Device::CUDA) {
    const Tensor ac = dense_as(a, a.dtype()), bc = dense_as(b, b.dtype());
    Tensor out = Tensor::empty(a.shape(), a.dtype(), Device::CUDA);
    cuda::gelu_mul(ac, bc, out);
    if (any_requires_grad({a, b})) {
      record("gelu_tanh_mul", {a, b}, {out}, [as = ac.detach(), bs = bc.detach()](GradSink& g) {
        const Tensor da = g.needs(0) ? Tensor::empty(as.shape(), as.dtype(), Device::CUDA) : Tensor();
        const Tensor db = g.needs(1) ? Tensor::empty(bs.shape(), bs.dtype(), Device::CUDA) : Tensor();
        cuda::gelu_mul_backward(as, bs, dense_as(g.out(), as.dtype()), da, db);
        if (da.defined()) g.add(0, da);
        if (db.defined()) g.add(1, db);
      });
    }
    return out;
  }
  const Tensor af = dense_f32(a), bf = dense_f32(b);
  // The composite's float operations in its order, so the two agree bit for bit.
  Tensor out = ranges(af, bf, [](const float* x, const float* y, float* o, int64_t n) {
    gelu_inner_tanh(x, o, n);
    for (int64_t i = 0; i < n; ++i) {
      const float gx = 0.5f * x[i] * (1.f + o[i]);
      o[i] = gx * y[i];
    }
  });
  if (any_requires_grad({a, b})) {
    record("gelu_tanh_mul", {a, b}, {out}, [as = af.detach(), bs = bf.detach()](GradSink& g) {
      const Tensor gy = dense_f32(g.out());
      const Tensor da = g.needs(0) ? Tensor::empty(as.shape()) : Tensor();
      const Tensor db = g.needs(1) ? Tensor::empty(bs.shape()) : Tensor();
      const float* up = gy.data<float>();
      const float* x = as.data<float>();
      const float* y = bs.data<float>();
      float* pa = da.defined() ? da.data<float>() : nullptr;
      float* pb = db.defined() ? db.data<float>() : nullptr;
      parallel_for(as.numel(), 1 << 14, [&](int64_t s, int64_t e) {
        std::vector<float> t(static_cast<size_t>(e - s));
        gelu_inner_tanh(x + s, t.data(), e - s);
        for (int64_t i = s; i < e; ++i) {
          const float v = x[i], th = t[static_cast<size_t>(i - s)];
          if (pb) pb[i] = up[i] * (0.5f * v * (1.f + th));
          if (pa) {
            const float slope = kGeluBeta * (1.f + 3.f * kGeluKappa * v * v);
            pa[i] = (up[i] * y[i]) * (0.5f * (1.f + th) + 0.5f * v * (1.f - th * th) * slope);
          }
        }
      });
      if (da.defined()) g.add(0, da);
      if (db.defined()) g.add(1, db);
    });
  }
  return out;
}

Tensor softcap(const Tensor& x, double cap) {
  GT_CHECK(x.defined() && is_floating(x.dtype()), "softcap: float tensor expected, got ", x.str());
  GT_CHECK(cap > 0 && std::isfinite(cap), "softcap: cap must be positive and finite, got ", cap);
  const float c = static_cast<float>(cap);
  if (x.device() == Device::CUDA)
    return unary_cuda("softcap", cuda::Unary::Softcap, cuda::Unary::SoftcapBackward, x, c, true);
  Tensor out = ranges(dense_f32(x), Tensor(),
                      [c](const float* v, const float*, float* o, int64_t n) { vec::softcap(v, o, n, c); });
  if (any_requires_grad({x})) {
    // tanh is recovered from the output (y / cap), so the backward keeps no copy of the input: on the logits that
    // is one [N, V] buffer fewer, and the loss that follows saves this same output.
    record("softcap", {x}, {out}, [ys = out.detach(), c](GradSink& g) {
      g.add(0, ranges(g.out(), ys, [c](const float* gy, const float* y, float* o, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
          const float t = y[i] / c;
          o[i] = gy[i] * (1.f - t * t);
        }
      }));
    });
  }
  return out;
}

}  // namespace gt
