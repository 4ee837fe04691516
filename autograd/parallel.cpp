#include "autograd/parallel.h"

#include <cblas.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

namespace gt {
namespace {
std::once_flag init_once;
int threads = 1;
std::unique_ptr<tbb::global_control> tbb_limit;

void apply(int n) {
  threads = n < 1 ? 1 : n;
  tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<size_t>(threads));
  // OpenBLAS stays on one thread: sgemm spreads its tiles over our pool itself (blas.cpp says why).
  openblas_set_num_threads(1);
}

void init() {
  std::call_once(init_once, [] {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("GT_NUM_THREADS")) n = std::atoi(env);
    apply(n);
  });
}
}  // namespace

int num_threads() {
  init();
  return threads;
}

void set_num_threads(int n) {
  init();
  apply(n);
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  init();
  if (grain < 1) grain = 1;
  if (threads == 1 || n <= grain) {
    body(0, n);
    return;
  }
  // simple_partitioner splits down to the grain size exactly, so the chunking is a function of (n, grain).
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); },
                    tbb::simple_partitioner());
}

}  // namespace gt
