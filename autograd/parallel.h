#pragma once
// Threading: one oneTBB pool of GT_NUM_THREADS threads (else the core count) for every parallel loop, GEMM tiles
// included; OpenBLAS itself always runs single-threaded inside those tiles (blas.cpp). No result may depend on the
// thread count: a body must compute the same bits however [0, n) is cut into chunks (per-chunk partial sums are
// only allowed over fixed blocks of its own, combined in block order).
#include <cstdint>
#include <functional>

namespace gt {

int num_threads();
void set_num_threads(int n);  // resizes the TBB arena limit

// Calls body(begin, end) over [0, n) in chunks of about `grain` (one chunk on one thread).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace gt
