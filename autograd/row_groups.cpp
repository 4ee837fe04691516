#include "autograd/row_groups.h"

#include <algorithm>
#include <numeric>

namespace gt {

RowGroups group_rows(const std::vector<int64_t>& ids, int64_t skip) {
  RowGroups g;
  std::vector<int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
  const int64_t n = static_cast<int64_t>(ids.size());
  for (int64_t k = 0; k < n;) {
    const int64_t id = ids[order[k]];
    int64_t e = k + 1;
    while (e < n && ids[order[e]] == id) ++e;
    if (id != skip) {
      g.rows.push_back(id);
      g.starts.push_back(static_cast<int64_t>(g.order.size()));
      g.order.insert(g.order.end(), order.begin() + k, order.begin() + e);
    }
    k = e;
  }
  g.starts.push_back(static_cast<int64_t>(g.order.size()));
  return g;
}

}  // namespace gt
