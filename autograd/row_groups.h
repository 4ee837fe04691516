#pragma once
// Grouping of table-row ids for row-sparse gradients: which rows appear, and which positions hold each.
#include <cstdint>
#include <vector>

namespace gt {

// Positions 0..n-1 of `ids`, stably sorted by id, split into groups of equal id: group u covers
// order[starts[u] .. starts[u+1]) and belongs to row rows[u]. Rows come out sorted and unique; within a group the
// positions keep their original order, so sums over a group have a fixed order. Positions whose id is `skip`
// (a padding row; -1 for none) are left out.
struct RowGroups {
  std::vector<int64_t> rows, order, starts;
  int64_t count() const { return static_cast<int64_t>(rows.size()); }
};
RowGroups group_rows(const std::vector<int64_t>& ids, int64_t skip = -1);

}  // namespace gt
