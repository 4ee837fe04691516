// Embedding lookup: table rows gathered by integer ids, with a row-sparse backward.
#include <algorithm>
#include <numeric>
#include <type_traits>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"

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
  Tensor out = Tensor::empty(out_shape);
  if (table.dtype() == DType::BF16) gather_rows<bf16>(table, idv, out.data<float>());
  else gather_rows<float>(table, idv, out.data<float>());

  if (any_requires_grad({table})) {
    record("embedding", {table}, {out}, [idv = std::move(idv), D, padding_idx](GradSink& g) {
      const int64_t n = static_cast<int64_t>(idv.size());
      // A stable sort by id keeps each row's positions in their original order, so every row sums its
      // gradients in the same order on every run, whatever the thread count.
      std::vector<int64_t> order(idv.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return idv[a] < idv[b]; });
      struct Group {
        int64_t row, begin, end;  // positions order[begin, end) all look up `row`
      };
      std::vector<Group> groups;
      for (int64_t k = 0; k < n;) {
        const int64_t id = idv[order[k]];
        int64_t e = k + 1;
        while (e < n && idv[order[e]] == id) ++e;
        if (id != padding_idx) groups.push_back({id, k, e});
        k = e;
      }
      const int64_t U = static_cast<int64_t>(groups.size());
      Tensor rows = Tensor::empty({U}, DType::I64), values = Tensor::empty({U, D});
      int64_t* rp = rows.data<int64_t>();
      float* vp = values.data<float>();
      const float* go = g.out().data<float>();
      parallel_for(U, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          const Group& grp = groups[u];
          rp[u] = grp.row;
          float* dst = vp + u * D;
          std::fill(dst, dst + D, 0.f);
          for (int64_t k = grp.begin; k < grp.end; ++k) {
            const float* src = go + order[k] * D;
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
