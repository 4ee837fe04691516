// Broadcasting elementwise arithmetic: add, sub, mul, div, scale.
#include <cmath>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    GT_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
             " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

enum class BinOp { Add, Sub, Mul, Div };

template <BinOp OP>
inline float apply(float x, float y) {
  if constexpr (OP == BinOp::Add) return x + y;
  if constexpr (OP == BinOp::Sub) return x - y;
  if constexpr (OP == BinOp::Mul) return x * y;
  if constexpr (OP == BinOp::Div) return x / y;
}

constexpr cuda::Binary cuda_op(BinOp op) {
  return op == BinOp::Add ? cuda::Binary::Add
         : op == BinOp::Sub ? cuda::Binary::Sub
         : op == BinOp::Mul ? cuda::Binary::Mul
                            : cuda::Binary::Div;
}

// On the GPU: both operands in the result dtype, viewed with stride 0 along broadcast dims, one kernel.
template <BinOp OP>
Tensor binary_forward_cuda(const Tensor& a_in, const Tensor& b_in, const Shape& shape) {
  const DType dt = result_dtype({a_in, b_in});
  NoGradGuard ng;
  const Tensor a = (a_in.dtype() == dt ? a_in : dense_as(a_in, dt)).expand(shape);
  const Tensor b = (b_in.dtype() == dt ? b_in : dense_as(b_in, dt)).expand(shape);
  Tensor out = Tensor::empty(shape, dt, Device::CUDA);
  cuda::binary(cuda_op(OP), a, b, out);
  return out;
}

// out = a OP b over the broadcast shape. Inputs are widened to f32 and viewed with stride 0 along broadcast dims;
// the innermost dimension runs as a strided loop that the compiler vectorises when both strides are 1.
template <BinOp OP>
Tensor binary_forward(const Tensor& a_in, const Tensor& b_in, const Shape& shape) {
  if (same_device("binary op", {a_in, b_in}) == Device::CUDA) return binary_forward_cuda<OP>(a_in, b_in, shape);
  const Tensor a = dense_f32(a_in).expand(shape), b = dense_f32(b_in).expand(shape);
  Tensor out = Tensor::empty(shape);
  float* o = out.data<float>();
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  const int64_t n = out.numel();
  if (n == 0) return out;
  if (a.is_contiguous() && b.is_contiguous()) {
    parallel_for(n, 1 << 15, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) o[i] = apply<OP>(ap[i], bp[i]);
    });
    return out;
  }
  const int64_t nd = static_cast<int64_t>(shape.size());
  const int64_t inner = shape[static_cast<size_t>(nd - 1)];
  const int64_t as = a.strides()[static_cast<size_t>(nd - 1)], bs = b.strides()[static_cast<size_t>(nd - 1)];
  parallel_for(n / inner, std::max<int64_t>(1, (1 << 14) / inner), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; ++r) {
      int64_t rem = r, ao = 0, bo = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        const int64_t idx = rem % shape[static_cast<size_t>(d)];
        rem /= shape[static_cast<size_t>(d)];
        ao += idx * a.strides()[static_cast<size_t>(d)];
        bo += idx * b.strides()[static_cast<size_t>(d)];
      }
      float* orow = o + r * inner;
      if (as == 1 && bs == 1) {
        for (int64_t i = 0; i < inner; ++i) orow[i] = apply<OP>(ap[ao + i], bp[bo + i]);
      } else if (bs == 0) {
        const float y = bp[bo];
        for (int64_t i = 0; i < inner; ++i) orow[i] = apply<OP>(ap[ao + i * as], y);
      } else {
        for (int64_t i = 0; i < inner; ++i) orow[i] = apply<OP>(ap[ao + i * as], bp[bo + i * bs]);
      }
    }
  });
  return out;
}

template <BinOp OP>
Tensor binary(const char* name, const Tensor& a, const Tensor& b) {
  GT_CHECK(a.defined() && b.defined(), name, ": undefined operand");
  GT_CHECK(is_floating(a.dtype()) && is_floating(b.dtype()), name, ": float tensors expected, got ", a.str(),
           " and ", b.str());
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = binary_forward<OP>(a, b, shape);
  if (any_requires_grad({a, b})) {
    const Shape sa = a.shape(), sb = b.shape();
    // Only the operands the backward formula reads are kept alive.
    const Tensor a_saved = OP == BinOp::Mul || OP == BinOp::Div ? a.detach() : Tensor();
    const Tensor b_saved = OP == BinOp::Mul || OP == BinOp::Div ? b.detach() : Tensor();
    record(name, {a, b}, {out}, [sa, sb, a_saved, b_saved](GradSink& g) {
      const Tensor& go = g.out();
      if constexpr (OP == BinOp::Add) {
        g.add(0, sum_to(go, sa));
        g.add(1, sum_to(go, sb));
      } else if constexpr (OP == BinOp::Sub) {
        g.add(0, sum_to(go, sa));
        if (g.needs(1)) g.add(1, sum_to(scale(go, -1.0), sb));
      } else if constexpr (OP == BinOp::Mul) {
        if (g.needs(0)) g.add(0, sum_to(mul(go, b_saved), sa));
        if (g.needs(1)) g.add(1, sum_to(mul(go, a_saved), sb));
      } else {
        const Tensor q = div(go, b_saved);  // d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2 = -(g/b) * (a/b)
        if (g.needs(0)) g.add(0, sum_to(q, sa));
        if (g.needs(1)) g.add(1, sum_to(scale(mul(q, div(a_saved, b_saved)), -1.0), sb));
      }
    });
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary<BinOp::Add>("add", a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary<BinOp::Sub>("sub", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary<BinOp::Mul>("mul", a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary<BinOp::Div>("div", a, b); }

Tensor scale(const Tensor& a, double s) {
  GT_CHECK(is_floating(a.dtype()), "scale: float tensor expected, got ", a.str());
  const float f = static_cast<float>(s);
  const DType dt = result_dtype({a});
  const Tensor x = dense_as(a, dt);
  Tensor out = Tensor::empty(a.shape(), dt, a.device());
  if (a.device() == Device::CUDA) {
    cuda::scale(x, f, out);
  } else {
    const float* xp = x.data<float>();
    float* o = out.data<float>();
    parallel_for(out.numel(), 1 << 15, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = xp[i] * f;
    });
  }
  if (any_requires_grad({a})) record("scale", {a}, {out}, [s](GradSink& g) { g.add(0, scale(g.out(), s)); });
  return out;
}

}  // namespace gt
