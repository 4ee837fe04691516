// Sums and means, over all elements or chosen dimensions. Accumulation is in double with a fixed order, so results
// do not depend on the thread count's timing.
#include <algorithm>
#include <numeric>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {

namespace {

std::vector<bool> reduced_mask(const Tensor& a, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> red(static_cast<size_t>(a.dim()), false);
  for (int64_t d : dims) {
    const int64_t w = d < 0 ? d + a.dim() : d;
    GT_CHECK(w >= 0 && w < a.dim(), op, ": dim ", d, " out of range for ", a.str());
    red[static_cast<size_t>(w)] = true;
  }
  return red;
}

// Sums over the masked dims; the result has size 1 there (keepdim layout).
Tensor reduce_sum_keepdim(const Tensor& a, const std::vector<bool>& red) {
  std::vector<int64_t> order;
  Shape kept_shape;
  int64_t run = 1;
  for (size_t i = 0; i < red.size(); ++i)
    if (!red[i]) order.push_back(static_cast<int64_t>(i));
  for (size_t i = 0; i < red.size(); ++i)
    if (red[i]) {
      order.push_back(static_cast<int64_t>(i));
      run *= a.shape()[i];
    }
  Shape keep = a.shape();
  for (size_t i = 0; i < red.size(); ++i)
    if (red[i]) keep[i] = 1;
  // Bring the reduced dims last and contiguous, so each output is the sum of one contiguous run.
  Tensor src;
  const DType dt = result_dtype({a});
  {
    NoGradGuard ng;
    src = dense_as(a.detach().permute(order).contiguous(), dt);
  }
  Tensor out = Tensor::empty(keep, dt, a.device());
  if (a.device() == Device::CUDA) {
    // One block per output, summed in f32 in a fixed order (the GPU keeps no double accumulators).
    if (out.numel() > 0 && run > 0) cuda::row_sum(src, out);
    else if (out.numel() > 0) cuda::fill_zero(out.raw(), static_cast<size_t>(out.numel()) * dtype_size(dt));
    return out;
  }
  const float* s = src.data<float>();
  float* o = out.data<float>();
  const int64_t outs = out.numel();
  if (outs == 1) {
    // One big sum: fixed chunks summed in parallel, combined in chunk order.
    const int64_t chunk = 1 << 14, nchunks = (run + chunk - 1) / chunk;
    std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(nchunks, 1)), 0.0);
    parallel_for(nchunks, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        double acc = 0;
        for (int64_t i = c * chunk, end = std::min(run, (c + 1) * chunk); i < end; ++i) acc += s[i];
        partial[static_cast<size_t>(c)] = acc;
      }
    });
    o[0] = static_cast<float>(std::accumulate(partial.begin(), partial.end(), 0.0));
    return out;
  }
  parallel_for(outs, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(run, 1)), [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      double acc = 0;
      const float* p = s + j * run;
      for (int64_t i = 0; i < run; ++i) acc += p[i];
      o[j] = static_cast<float>(acc);
    }
  });
  return out;
}

Tensor reduce(const char* op, const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, bool average) {
  GT_CHECK(is_floating(a.dtype()), op, ": float tensor expected, got ", a.str());
  const std::vector<bool> red = reduced_mask(a, dims, op);
  int64_t count = 1;
  Shape out_shape;
  for (size_t i = 0; i < red.size(); ++i) {
    if (red[i]) count *= a.shape()[i];
    if (!red[i] || keepdim) out_shape.push_back(red[i] ? 1 : a.shape()[i]);
  }
  Tensor out = reduce_sum_keepdim(a, red);
  if (average) {
    NoGradGuard ng;
    out = scale(out, count ? 1.0 / static_cast<double>(count) : 0.0);
  }
  out = make_view(out, out_shape, contiguous_strides(out_shape), 0);
  if (any_requires_grad({a})) {
    Shape keep = a.shape();
    for (size_t i = 0; i < red.size(); ++i)
      if (red[i]) keep[i] = 1;
    const Shape in_shape = a.shape();
    const double f = average && count ? 1.0 / static_cast<double>(count) : 1.0;
    record(op, {a}, {out}, [keep, in_shape, f](GradSink& g) {
      Tensor go = g.out().reshape(keep).expand(in_shape).contiguous();
      g.add(0, f == 1.0 ? go : scale(go, f));
    });
  }
  return out;
}

std::vector<int64_t> all_dims(const Tensor& a) {
  std::vector<int64_t> d(static_cast<size_t>(a.dim()));
  std::iota(d.begin(), d.end(), 0);
  return d;
}

}  // namespace

Tensor sum(const Tensor& a) { return reduce("sum", a, all_dims(a), false, false); }
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce("sum", a, dims, keepdim, false);
}
Tensor mean(const Tensor& a) { return reduce("mean", a, all_dims(a), false, true); }
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce("mean", a, dims, keepdim, true);
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  GT_CHECK(lead >= 0, "sum_to: cannot reduce ", g.str(), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < g.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
      continue;
    }
    const int64_t want = shape[static_cast<size_t>(i - lead)];
    GT_CHECK(want == g.shape()[static_cast<size_t>(i)] || want == 1, "sum_to: cannot reduce ", g.str(), " to ",
             shape_str(shape));
    if (want == 1 && g.shape()[static_cast<size_t>(i)] != 1) dims.push_back(i);
  }
  return sum(g, dims, true).reshape(shape);
}

}  // namespace gt
