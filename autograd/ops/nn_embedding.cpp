// Embedding lookup: table rows gathered by integer ids, with a row-sparse backward.
#include <algorithm>
#include <type_traits>

#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "autograd/row_groups.h"
#include "base/error.h"

namespace gt {

namespace {

// Reads the rows straight out of the table, widening bf16 one row at a time: converting the whole table first
// would touch all 2.35e9 elements of the per-layer table to fetch a few thousand rows.
template <class T>
void gather_rows(const Tensor& table, const std::vector<int64_t>& ids, float* out) {
  const T* base = static_cast<const T*>(table.raw());
  const int64_t D = table.size(1), rs = table.strides()[0], cs = table.strides()[1];
  auto load = [](T v) {
    if constexpr (std::is_same_v<T, bf16>) return bf16_to_float(v);
    else return v;
  };
  const int64_t n = static_cast<int64_t>(ids.size());
  parallel_for(n, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* src = base + ids[i] * rs;
      float* dst = out + i * D;
      if (cs == 1) {
        for (int64_t c = 0; c < D; ++c) dst[c] = load(src[c]);
      } else {
        for (int64_t c = 0; c < D; ++c) dst[c] = load(src[c * cs]);
      }
    }
  });
}

}  // namespace

Tensor embedding(const Tensor& table, const Tensor& ids, int64_t padding_idx) {
  GT_CHECK(table.defined() && ids.defined(), "embedding: undefined operand");
  GT_CHECK(table.dim() == 2 && is_floating(table.dtype()), "embedding: table must be a float [V, D] matrix, got ",
           table.str());
  GT_CHECK(!is_floating(ids.dtype()), "embedding: ids must be integers, got ", ids.str());
  const int64_t V = table.size(0), D = table.size(1);
  GT_CHECK(padding_idx == -1 || (padding_idx >= 0 && padding_idx < V), "embedding: padding_idx ", padding_idx,
           " out of range for table ", table.str());
  std::vector<int64_t> idv = ids.to_ids();
  for (size_t i = 0; i < idv.size(); ++i)
    GT_CHECK(idv[i] >= 0 && idv[i] < V, "embedding: id ", idv[i], " at position ", i, " out of range for a table of ",
             V, " rows (", table.str(), ")");

  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  const int64_t n = static_cast<int64_t>(idv.size());
  if (table.device() == Device::CUDA) {
    // Rows in the table's dtype; the backward sums each row's positions on the device, grouped on the host.
    Tensor out = Tensor::empty(out_shape, table.dtype(), Device::CUDA);
    cuda::gather_rows(table, Tensor::from_ids(idv, {n}).to(Device::CUDA), out);
    if (any_requires_grad({table})) {
      record("embedding", {table}, {out}, [idv = std::move(idv), D, n, padding_idx](GradSink& g) {
        const RowGroups grp = group_rows(idv, padding_idx);
        Tensor values = Tensor::empty({grp.count(), D}, DType::F32, Device::CUDA);
        cuda::group_rows_sum(g.out().reshape({n, D}),
                             Tensor::from_ids(grp.order, {static_cast<int64_t>(grp.order.size())}).to(Device::CUDA),
                             Tensor::from_ids(grp.starts, {grp.count() + 1}).to(Device::CUDA), values);
        g.add_rows(0, Tensor::from_ids(grp.rows, {grp.count()}), values);
      });
    }
    return out;
  }
  Tensor out = Tensor::empty(out_shape);
  if (table.dtype() == DType::BF16) gather_rows<bf16>(table, idv, out.data<float>());
  else gather_rows<float>(table, idv, out.data<float>());

  if (any_requires_grad({table})) {
    record("embedding", {table}, {out}, [idv = std::move(idv), D, padding_idx](GradSink& g) {
      // Each row sums its positions in their original order (group_rows keeps it), so the result is the same on
      // every run, whatever the thread count.
      const RowGroups grp = group_rows(idv, padding_idx);
      const int64_t U = grp.count();
      Tensor rows = Tensor::from_ids(grp.rows, {U}), values = Tensor::empty({U, D});
      float* vp = values.data<float>();
      const float* go = g.out().data<float>();
      parallel_for(U, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          float* dst = vp + u * D;
          std::fill(dst, dst + D, 0.f);
          for (int64_t k = grp.starts[u]; k < grp.starts[u + 1]; ++k) {
            const float* src = go + grp.order[k] * D;
            for (int64_t c = 0; c < D; ++c) dst[c] += src[c];
          }
        }
      });
      g.add_rows(0, rows, values);
    });
  }
  return out;
}

}  // namespace gt
