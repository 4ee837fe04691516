// Rotary position embedding, NeoX pairing (i with i + D/2), and the float32 tables it reads (docs/model.md §2.3).
#include <algorithm>
#include <cmath>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {

namespace {

// y = rotate(x) by the table angles; `inverse` rotates by the negated angles, which is the backward.
void rotate(const Tensor& x, const Tensor& cos, const Tensor& sin, bool inverse, Tensor& y) {
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3), half = D / 2;
  const bool per_batch = cos.dim() == 3;
  const float* xp = x.data<float>();
  const float* cp = cos.data<float>();
  const float* sp = sin.data<float>();
  float* yp = y.data<float>();
  const float sign = inverse ? -1.f : 1.f;
  parallel_for(B * T * H, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t bt = row / H;
      const int64_t tab = (per_batch ? bt : bt % T) * half;
      const float* xr = xp + row * D;
      float* yr = yp + row * D;
      for (int64_t i = 0; i < half; ++i) {
        const float c = cp[tab + i], s = sign * sp[tab + i];
        const float lo = xr[i], hi = xr[i + half];
        yr[i] = lo * c - hi * s;
        yr[i + half] = hi * c + lo * s;
      }
    }
  });
}

}  // namespace

Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  GT_CHECK(x.defined() && cos.defined() && sin.defined(), "rope: undefined operand");
  GT_CHECK(is_floating(x.dtype()) && is_floating(cos.dtype()) && is_floating(sin.dtype()),
           "rope: float tensors expected, got x ", x.str(), ", cos ", cos.str(), ", sin ", sin.str());
  GT_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, "rope: x must be [B, T, H, D] with an even D, got ", x.str());
  const int64_t B = x.size(0), T = x.size(1), half = x.size(3) / 2;
  GT_CHECK(cos.shape() == sin.shape(), "rope: cos ", cos.str(), " and sin ", sin.str(), " differ in shape");
  GT_CHECK(cos.shape() == (Shape{T, half}) || cos.shape() == (Shape{B, T, half}), "rope: cos/sin ", cos.str(),
           " do not fit x ", x.str(), " (need [T, D/2] or [B, T, D/2])");
  if (same_device("rope", {x, cos, sin}) == Device::CUDA) {
    // Output in x's dtype; the tables stay f32 (transformers rounds them to bf16 first: a difference below the
    // bf16 rounding of the result).
    const Tensor xc = dense_as(x, x.dtype()), cf = dense_f32(cos), sf = dense_f32(sin);
    Tensor out = Tensor::empty(x.shape(), x.dtype(), Device::CUDA);
    cuda::rope(xc, cf, sf, false, out);
    if (any_requires_grad({x})) {
      record("rope", {x}, {out}, [cs = cf.detach(), ss = sf.detach()](GradSink& g) {
        Tensor dx = Tensor::empty(g.out().shape(), g.out().dtype(), Device::CUDA);
        cuda::rope(g.out(), cs, ss, true, dx);
        g.add(0, dx);
      });
    }
    return out;
  }
  const Tensor xf = dense_f32(x), cf = dense_f32(cos), sf = dense_f32(sin);
  Tensor out = Tensor::empty(x.shape());
  rotate(xf, cf, sf, false, out);
  // The tables are positions, not parameters: only x is differentiated.
  if (any_requires_grad({x})) {
    record("rope", {x}, {out}, [cs = cf.detach(), ss = sf.detach()](GradSink& g) {
      Tensor dx = Tensor::empty(g.out().shape());
      rotate(g.out(), cs, ss, true, dx);
      g.add(0, dx);
    });
  }
  return out;
}

Tensor rope_inv_freq(int64_t head_dim, double theta, int64_t rotated) {
  GT_CHECK(head_dim > 0 && head_dim % 2 == 0, "rope_inv_freq: head_dim must be positive and even, got ", head_dim);
  GT_CHECK(rotated >= 0 && rotated <= head_dim / 2, "rope_inv_freq: rotated ", rotated, " out of range [0, ",
           head_dim / 2, "] for head_dim ", head_dim);
  GT_CHECK(theta > 0, "rope_inv_freq: theta must be positive, got ", theta);
  Tensor out = Tensor::zeros({head_dim / 2});
  float* p = out.data<float>();
  // transformers: 1.0 / (theta ** (arange(0, 2 * rotated, 2).float() / head_dim)), all in float32. The exponent
  // 2i / head_dim is one float division; theta ** e is a float32 pow (here the double pow of the same float
  // operands, rounded once: the correctly rounded powf); then a float32 reciprocal. Rounding the power before the
  // reciprocal matters: float(theta^-e) differs from this in the last bit for about a third of the entries.
  const float base = static_cast<float>(theta);
  for (int64_t i = 0; i < rotated; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const float power = static_cast<float>(std::pow(static_cast<double>(base), static_cast<double>(e)));
    p[i] = 1.f / power;
  }
  return out;
}

RopeTable rope_table(const Tensor& inv_freq, const Tensor& positions) {
  GT_CHECK(inv_freq.defined() && is_floating(inv_freq.dtype()) && inv_freq.dim() == 1,
           "rope_table: inv_freq must be a float vector, got ", inv_freq.str());
  GT_CHECK(positions.defined() && !is_floating(positions.dtype()) && (positions.dim() == 1 || positions.dim() == 2),
           "rope_table: positions must be integer [T] or [B, T], got ", positions.str());
  const int64_t half = inv_freq.size(0);
  const std::vector<float> inv = inv_freq.to_floats();
  const std::vector<int64_t> pos = positions.to_ids();
  Shape shape = positions.shape();
  shape.push_back(half);
  RopeTable t{Tensor::empty(shape), Tensor::empty(shape)};
  float* cp = t.cos.data<float>();
  float* sp = t.sin.data<float>();
  const int64_t P = static_cast<int64_t>(pos.size());
  parallel_for(P, std::max<int64_t>(1, (1 << 12) / std::max<int64_t>(half, 1)), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const float fp = static_cast<float>(pos[p]);
      for (int64_t i = 0; i < half; ++i) {
        // The angle is the float32 product, as transformers' inv_freq @ positions (K = 1) makes it; cos and sin
        // are then taken in double and rounded once, i.e. correctly rounded float32 cos/sin of that angle.
        const float angle = fp * inv[i];
        cp[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
        sp[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
      }
    }
  });
  return t;
}

}  // namespace gt
