#pragma once
// Threading: oneTBB for our loops, OpenBLAS for GEMMs, one shared thread budget.
//
// Both pools get the same size (GT_NUM_THREADS, else the core count). They never run at the same time: a GEMM is
// called from the op's own thread, never from inside a parallel_for body, so the cores are never oversubscribed.
// Code inside parallel_for bodies uses Eigen (single-threaded) or plain loops for its small matrix products.
#include <cstdint>
#include <functional>

namespace gt {

int num_threads();
void set_num_threads(int n);  // resizes both the TBB arena limit and OpenBLAS

// Calls body(begin, end) over [0, n) in chunks of at least `grain`. Chunk boundaries depend only on n and grain,
// never on timing, so reductions written per chunk are deterministic.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace gt
