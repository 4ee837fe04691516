#include "autograd/ops/softmax_rows.h"

#include <algorithm>
#include <vector>

#include "autograd/parallel.h"
#include "autograd/vec_math.h"

namespace gt {

void softmax_minus_onehot(const float* x, const double* lse, const int64_t* target, const float* scale, int64_t N,
                          int64_t V, float inv_t, float cap, float* d) {
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(V, 1));
  parallel_for(N, grain, [&](int64_t b, int64_t e) {
    std::vector<float> ex(static_cast<size_t>(V));
    for (int64_t n = b; n < e; ++n) {
      const float* row = x + n * V;
      float* out = d + n * V;
      const float f = scale[n];
      if (f == 0.f) {
        std::fill(out, out + V, 0.f);
        continue;
      }
      // inv_t = 1 multiplies exactly, so the plain softmax takes no extra rounding.
      const double l = lse[n];
      for (int64_t j = 0; j < V; ++j) ex[j] = static_cast<float>(static_cast<double>(row[j] * inv_t) - l);
      vec::exp(ex.data(), ex.data(), V);
      const int64_t t = target[n];
      for (int64_t j = 0; j < V; ++j) {
        float g = f * ex[j];
        if (j == t) g -= f;
        if (cap > 0) {
          const float th = row[j] / cap;
          g *= 1.f - th * th;
        }
        out[j] = g;
      }
    }
  });
}

}  // namespace gt
