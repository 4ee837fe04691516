// Differentiable views and conversions. A view shares storage with its input; its backward maps the gradient
// back to the input's geometry.
#include <algorithm>
#include <numeric>

#include "autograd/ops.h"
#include "base/error.h"

namespace gt {

namespace {
int64_t wrap_dim(int64_t d, int64_t n, const char* op, const Tensor& t) {
  const int64_t w = d < 0 ? d + n : d;
  GT_CHECK(w >= 0 && w < n, op, ": dim ", d, " out of range for ", t.str());
  return w;
}
}  // namespace

Tensor Tensor::reshape(const Shape& shape_in) const {
  Shape shape = shape_in;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      GT_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(shape_in));
      infer = static_cast<int64_t>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    GT_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape ", str(), " to ", shape_str(shape_in));
    shape[static_cast<size_t>(infer)] = numel() / known;
  }
  GT_CHECK(shape_numel(shape) == numel(), "reshape: cannot reshape ", str(), " to ", shape_str(shape_in));
  const Tensor src = is_contiguous() ? *this : contiguous();
  Tensor out = make_view(src, shape, contiguous_strides(shape), src.offset());
  if (any_requires_grad({src})) {
    const Shape in_shape = this->shape();
    record("reshape", {src}, {out}, [in_shape](GradSink& g) { g.add(0, g.out().reshape(in_shape)); });
  }
  return out;
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  const int64_t n = dim();
  GT_CHECK(static_cast<int64_t>(dims.size()) == n, "permute: ", dims.size(), " dims for ", str());
  Shape shape(dims.size()), strides(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], n, "permute", *this);
    GT_CHECK(inverse[static_cast<size_t>(d)] < 0, "permute: dim ", d, " repeated for ", str());
    inverse[static_cast<size_t>(d)] = static_cast<int64_t>(i);
    shape[i] = this->shape()[static_cast<size_t>(d)];
    strides[i] = this->strides()[static_cast<size_t>(d)];
  }
  Tensor out = make_view(*this, shape, strides, offset());
  if (any_requires_grad({*this}))
    record("permute", {*this}, {out}, [inverse](GradSink& g) { g.add(0, g.out().permute(inverse)); });
  return out;
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  std::vector<int64_t> dims(static_cast<size_t>(dim()));
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[static_cast<size_t>(wrap_dim(a, dim(), "transpose", *this))],
            dims[static_cast<size_t>(wrap_dim(b, dim(), "transpose", *this))]);
  return permute(dims);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end) const {
  d = wrap_dim(d, dim(), "slice", *this);
  const int64_t n = shape()[static_cast<size_t>(d)];
  GT_CHECK(0 <= start && start <= end && end <= n, "slice: range [", start, ", ", end, ") out of bounds for dim ", d,
           " of ", str());
  Shape shape = this->shape();
  shape[static_cast<size_t>(d)] = end - start;
  Tensor out = make_view(*this, shape, strides(), offset() + start * strides()[static_cast<size_t>(d)]);
  if (any_requires_grad({*this})) {
    const Shape in_shape = this->shape();
    record("slice", {*this}, {out}, [in_shape, d, start, end](GradSink& g) {
      Tensor full = Tensor::zeros(in_shape, g.out().dtype(), g.out().device());
      full.slice(d, start, end).copy_from(g.out());
      g.add(0, full);
    });
  }
  return out;
}

Tensor Tensor::expand(const Shape& shape) const {
  const int64_t n = dim(), m = static_cast<int64_t>(shape.size());
  GT_CHECK(m >= n, "expand: cannot expand ", str(), " to ", shape_str(shape));
  Shape strides(shape.size(), 0);
  for (int64_t i = 0; i < m; ++i) {
    const int64_t j = i - (m - n);
    if (j < 0) continue;
    const int64_t have = this->shape()[static_cast<size_t>(j)];
    GT_CHECK(have == shape[static_cast<size_t>(i)] || have == 1, "expand: cannot expand ", str(), " to ",
             shape_str(shape));
    strides[static_cast<size_t>(i)] = have == 1 ? 0 : this->strides()[static_cast<size_t>(j)];
  }
  Tensor out = make_view(*this, shape, strides, offset());
  if (any_requires_grad({*this})) {
    const Shape in_shape = this->shape();
    record("expand", {*this}, {out}, [in_shape](GradSink& g) { g.add(0, sum_to(g.out(), in_shape)); });
  }
  return out;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  if (d < 0) d += dim() + 1;
  GT_CHECK(d >= 0 && d <= dim(), "unsqueeze: dim ", d, " out of range for ", str());
  Shape shape = this->shape();
  shape.insert(shape.begin() + d, 1);
  return reshape(shape);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), device());
  out.copy_from(*this);
  if (any_requires_grad({*this})) record("contiguous", {*this}, {out}, [](GradSink& g) { g.add(0, g.out()); });
  return out;
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = Tensor::empty(shape(), t, device());
  out.copy_from(*this);
  // Gradients stay float32: a bf16 weight receives an f32 gradient, which its optimizer applies to a master copy.
  if (is_floating(t) && any_requires_grad({*this}))
    record("to", {*this}, {out}, [](GradSink& g) { g.add(0, g.out()); });
  return out;
}

}  // namespace gt
