// Joining and splitting along one dimension: concat copies, split returns views.
#include <numeric>

#include "autograd/ops.h"
#include "base/error.h"

namespace gt {

namespace {
int64_t wrap_dim(int64_t d, const Tensor& t, const char* op) {
  const int64_t w = d < 0 ? d + t.dim() : d;
  GT_CHECK(w >= 0 && w < t.dim(), op, ": dim ", d, " out of range for ", t.str());
  return w;
}
}  // namespace

Tensor concat(const std::vector<Tensor>& parts, int64_t dim) {
  GT_CHECK(!parts.empty(), "concat: no parts given");
  for (size_t i = 0; i < parts.size(); ++i)
    GT_CHECK(parts[i].defined() && is_floating(parts[i].dtype()), "concat: part ", i,
             " must be a float tensor, got ", parts[i].str());
  const Tensor& first = parts[0];
  GT_CHECK(first.dim() > 0, "concat: cannot concatenate 0-d tensors, got ", first.str());
  const int64_t d = wrap_dim(dim, first, "concat");
  Shape shape = first.shape();
  shape[d] = 0;
  std::vector<int64_t> offsets;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& p = parts[i];
    bool fits = p.dim() == first.dim();
    for (int64_t k = 0; fits && k < p.dim(); ++k) fits = k == d || p.size(k) == first.size(k);
    GT_CHECK(fits, "concat: part ", i, " ", p.str(), " does not match part 0 ", first.str(), " outside dim ", d);
    offsets.push_back(shape[d]);
    shape[d] += p.size(d);
  }
  Tensor out = Tensor::empty(shape, result_dtype(parts), same_device("concat", parts));
  for (size_t i = 0; i < parts.size(); ++i)
    out.slice(d, offsets[i], offsets[i] + parts[i].size(d)).copy_from(parts[i]);
  if (any_requires_grad(parts)) {
    std::vector<int64_t> sizes;
    for (const auto& p : parts) sizes.push_back(p.size(d));
    record("concat", parts, {out}, [d, offsets, sizes](GradSink& g) {
      for (size_t i = 0; i < sizes.size(); ++i)
        if (g.needs(i)) g.add(i, g.out().slice(d, offsets[i], offsets[i] + sizes[i]));
    });
  }
  return out;
}

std::vector<Tensor> split(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
  GT_CHECK(a.defined() && is_floating(a.dtype()) && a.dim() > 0,
           "split: float tensor with at least one dim expected, got ", a.str());
  const int64_t d = wrap_dim(dim, a, "split");
  for (int64_t s : sizes) GT_CHECK(s >= 0, "split: negative size in ", shape_str(sizes), " for ", a.str());
  GT_CHECK(std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) == a.size(d), "split: sizes ",
           shape_str(sizes), " do not add up to ", a.size(d), ", the size of dim ", d, " of ", a.str());
  // Views of a float32 a, or of its float32 copy, so every output is float32 like every other op's (on the GPU,
  // views of a itself in its dtype).
  const Tensor base = a.dtype() == result_dtype({a}) ? a : dense_f32(a);
  std::vector<Tensor> outs;
  int64_t off = 0;
  for (int64_t s : sizes) {
    Shape shape = base.shape();
    shape[d] = s;
    outs.push_back(make_view(base, shape, base.strides(), base.offset() + off * base.strides()[d]));
    off += s;
  }
  // One node for all the outputs, so the backward builds the input's gradient once; outputs that received no
  // gradient read as zeros.
  if (any_requires_grad({a})) {
    record("split", {a}, outs, [shape = a.shape(), sizes, d](GradSink& g) {
      Tensor full = Tensor::empty(shape, g.out(0).dtype(), g.out(0).device());
      int64_t off = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        full.slice(d, off, off + sizes[i]).copy_from(g.out(i));
        off += sizes[i];
      }
      g.add(0, full);
    });
  }
  return outs;
}

}  // namespace gt
