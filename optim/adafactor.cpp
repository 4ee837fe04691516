#include "optim/adafactor.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "optim/adafactor_step.h"
#include "optim/cuda/adafactor_gpu.h"
#include "optim/kernels.h"

namespace gt {

using namespace optim_detail;

AdafactorOptions AdafactorOptions::transformers_defaults() {
  AdafactorOptions o;
  o.lr.reset();
  o.scale_parameter = true;
  o.relative_step = true;
  return o;
}

namespace {

const AdafactorOptions& validated(const AdafactorOptions& o) {
  GT_CHECK(!(o.lr && o.relative_step),
           "Adafactor: cannot combine a manual lr with relative_step=true (leave lr unset, or turn relative_step off)");
  GT_CHECK(!o.warmup_init || o.relative_step, "Adafactor: warmup_init=true requires relative_step=true");
  GT_CHECK(o.lr || o.relative_step, "Adafactor: lr must be set when relative_step is false");
  GT_CHECK(!o.lr || *o.lr >= 0, "Adafactor: lr must be >= 0, got ", *o.lr);
  GT_CHECK(o.eps1 >= 0 && o.eps2 >= 0, "Adafactor: eps must be >= 0, got (", o.eps1, ", ", o.eps2, ")");
  GT_CHECK(o.clip_threshold > 0, "Adafactor: clip_threshold must be > 0, got ", o.clip_threshold);
  GT_CHECK(o.decay_rate <= 0, "Adafactor: decay_rate must be <= 0 (beta2 = 1 - t^decay_rate), got ", o.decay_rate);
  GT_CHECK(!o.beta1 || (*o.beta1 >= 0 && *o.beta1 < 1), "Adafactor: beta1 must be in [0, 1), got ", *o.beta1);
  GT_CHECK(o.weight_decay >= 0, "Adafactor: weight_decay must be >= 0, got ", o.weight_decay);
  return o;
}

using Coeffs = AdafactorCoeffs;

Coeffs coefficients(const AdafactorOptions& o, double beta2, double alpha) {
  Coeffs k;
  k.beta2 = static_cast<float>(beta2);
  k.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  k.eps1 = static_cast<double>(static_cast<float>(o.eps1));
  k.alpha = static_cast<float>(alpha);
  k.momentum = o.beta1.has_value();
  if (k.momentum) {
    k.beta1 = static_cast<float>(*o.beta1);
    k.one_minus_beta1 = static_cast<float>(1.0 - *o.beta1);
  }
  k.decay = o.weight_decay != 0.0;
  k.neg_wd_alpha = static_cast<float>(-o.weight_decay * alpha);
  return k;
}

// Column sums use at most this many row blocks (one partial sum per block and column).
constexpr int64_t kMaxBlocks = 64;

// Second-moment statistics of one [rows, cols] matrix: updates R and C, and fills per gradient entry k its row
// factor rf[k] = 1/sqrt(R_r / mean R) and usq[k] = sum over the row of U^2, and per column cf = 1/sqrt(C).
// Rows without a gradient add exact zeros everywhere, so the block layout (a function of rows and cols only) and
// the fixed summation orders make this independent of whether those rows are listed.
void factored_stats(const RowGrad& rg, float* R, float* Cs, const Coeffs& k, float* rf, float* cf, double* usq) {
  const int64_t N = rg.rows, C = rg.cols;
  const int64_t want = std::clamp<int64_t>((N * C + kChunk - 1) / kChunk, 1, kMaxBlocks);
  const int64_t rows_per_block = (N + want - 1) / want;
  const int64_t blocks = (N + rows_per_block - 1) / rows_per_block;
  std::vector<double> row_sq(static_cast<size_t>(rg.count), 0.0);
  std::vector<double> col_part(static_cast<size_t>(blocks * C), 0.0);
  parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t k0 = rg.first_at_or_after(blk * rows_per_block);
      const int64_t k1 = rg.first_at_or_after(std::min(N, (blk + 1) * rows_per_block));
      double* cp = col_part.data() + blk * C;
      for (int64_t e = k0; e < k1; ++e) {
        const float* g = rg.g + e * C;
        double s = 0.0;
        for (int64_t j = 0; j < C; ++j) {
          const float q = g[j] * g[j];
          s += q;
          cp[j] += q;
        }
        row_sq[static_cast<size_t>(e)] = s;
      }
    }
  });
  const double dn = static_cast<double>(N), dc = static_cast<double>(C);
  parallel_for(C, 1024, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      double s = 0.0;
      for (int64_t blk = 0; blk < blocks; ++blk) s += col_part[static_cast<size_t>(blk * C + j)];
      const float mean = static_cast<float>((s + dn * k.eps1) / dn);
      Cs[j] = Cs[j] * k.beta2 + k.one_minus_beta2 * mean;
      cf[j] = 1.0f / std::sqrt(Cs[j]);
    }
  });
  for_all_rows(rg, [&](int64_t r, int64_t e) {
    const double sq = e >= 0 ? row_sq[static_cast<size_t>(e)] : 0.0;
    R[r] = R[r] * k.beta2 + k.one_minus_beta2 * static_cast<float>((sq + dc * k.eps1) / dc);
  });
  const float mean_r = static_cast<float>(chunked_sum(N, [&](int64_t b, int64_t e) {
                                             double s = 0.0;
                                             for (int64_t r = b; r < e; ++r) s += R[r];
                                             return s;
                                           }) /
                                           dn);
  const int64_t grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, C));
  parallel_for(rg.count, grain, [&](int64_t b, int64_t e) {
    for (int64_t ent = b; ent < e; ++ent) {
      const float r = 1.0f / std::sqrt(R[rg.row(ent)] / mean_r);
      rf[ent] = r;
      const float* g = rg.g + ent * C;
      double s = 0.0;
      for (int64_t j = 0; j < C; ++j) {
        const float u = (r * cf[j]) * g[j];
        s += static_cast<double>(u) * u;
      }
      usq[ent] = s;
    }
  });
}

// W update of one matrix whose elements start at `base`. Without momentum and weight decay only the rows with a
// gradient change; otherwise every row does (u = 0 where there is no gradient).
template <class W>
void factored_apply(const RowGrad& rg, int64_t base, const float* rf, const float* cf, float* m, const W& w,
                    const Coeffs& k) {
  const int64_t C = rg.cols;
  auto row = [&](int64_t r, int64_t e) {
    const int64_t at = base + r * C;
    if (e < 0) {
      for (int64_t j = 0; j < C; ++j) adafactor_element(w, m, at + j, 0.0f, k, k.clip_div);
      return;
    }
    const float* g = rg.g + e * C;
    const float rv = rf[e];
    for (int64_t j = 0; j < C; ++j) adafactor_element(w, m, at + j, (rv * cf[j]) * g[j], k, k.clip_div);
  };
  if (k.momentum || k.decay) {
    for_all_rows(rg, row);
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kChunk / std::max<int64_t>(1, C));
  parallel_for(rg.count, grain, [&](int64_t b, int64_t e) {
    for (int64_t ent = b; ent < e; ++ent) row(rg.row(ent), ent);
  });
}

}  // namespace

Adafactor::Adafactor(std::vector<Tensor> params, AdafactorOptions opt)
    : Optimizer("Adafactor", std::move(params), validated(opt).lr.value_or(0.0), opt.precision),
      opt_(std::move(opt)),
      step_size_(this->params().size(), 0.0) {}

void Adafactor::set_lr(double lr) {
  GT_CHECK(!opt_.relative_step, "Adafactor: set_lr(", lr,
           ") with relative_step=true, where the step size comes from the step count");
  Optimizer::set_lr(lr);
  opt_.lr = lr;
}

std::vector<Optimizer::Slot> Adafactor::slot_layout(const Tensor& param) const {
  std::vector<Slot> out;
  const Shape& s = param.shape();
  if (s.size() >= 2) {
    Shape row(s.begin(), s.end() - 1);
    Shape col(s.begin(), s.end() - 2);
    col.push_back(s.back());
    out.push_back({"exp_avg_sq_row", row});
    out.push_back({"exp_avg_sq_col", col});
  } else {
    out.push_back({"exp_avg_sq", s});
  }
  if (opt_.beta1) out.push_back({"exp_avg", s});
  return out;
}

void Adafactor::update(size_t i, ParamState& ps, const Tensor& dense, const SparseRows& sparse) {
  const Tensor& p = params()[i];
  const int64_t n = p.numel();
  if (n == 0) return;
  const double t = static_cast<double>(ps.step);
  const double rho =
      opt_.relative_step ? std::min(opt_.warmup_init ? 1e-6 * t : 1e-2, 1.0 / std::sqrt(t)) : lr();
  const double beta2 = 1.0 - std::pow(t, opt_.decay_rate);
  const bool factored = p.dim() >= 2;

  if (p.device() == Device::CUDA) {
    // The same step on the GPU (optim/cuda/adafactor.cu); the slots and the master copy live there too.
    GpuWeights w{p, ps.master, precision().rounding == Rounding::Stochastic, rounding_key(precision(), i, ps.step),
                 non_finite_flag(i)};
    const double alpha = rho * (opt_.scale_parameter ? std::max(opt_.eps2, gpu_weights_rms(w)) : 1.0);
    step_size_[i] = alpha;
    queued_.push_back({w, dense, sparse, ps.slots[0], factored ? ps.slots[1] : Tensor(),
                       opt_.beta1 ? ps.slots.back() : Tensor(), coefficients(opt_, beta2, alpha)});
    return;
  }
  float* m = opt_.beta1 ? ps.slots.back().data<float>() : nullptr;

  with_weights(p, ps.master, precision(), i, ps.step, non_finite_flag(i), [&](const auto& w) {
    const double scale = opt_.scale_parameter ? std::max(opt_.eps2, weights_rms(w, n)) : 1.0;
    const double alpha = rho * scale;
    step_size_[i] = alpha;
    Coeffs k = coefficients(opt_, beta2, alpha);
    const double threshold = opt_.clip_threshold;
    auto clip_div = [&](double sumsq) {
      return static_cast<float>(std::max(1.0, std::sqrt(sumsq / static_cast<double>(n)) / threshold));
    };

    if (!factored) {
      float* V = ps.slots[0].data<float>();
      const float* g = dense.data<float>();
      const float eps1 = static_cast<float>(k.eps1);
      const double sumsq = chunked_sum(n, [&](int64_t b, int64_t e) {
        double s = 0.0;
        for (int64_t j = b; j < e; ++j) {
          V[j] = V[j] * k.beta2 + k.one_minus_beta2 * (g[j] * g[j] + eps1);
          const float u = (1.0f / std::sqrt(V[j])) * g[j];
          s += static_cast<double>(u) * u;
        }
        return s;
      });
      k.clip_div = clip_div(sumsq);
      for_chunks(n, [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j) adafactor_element(w, m, j, (1.0f / std::sqrt(V[j])) * g[j], k, k.clip_div);
      });
      return;
    }

    const int64_t N = p.size(-2), C = p.size(-1);
    const int64_t batches = n / (N * C);
    float* R = ps.slots[0].data<float>();
    float* Cs = ps.slots[1].data<float>();
    std::vector<RowGrad> mats(static_cast<size_t>(batches));
    for (int64_t b = 0; b < batches; ++b) {
      RowGrad& rg = mats[static_cast<size_t>(b)];
      rg.rows = N;
      rg.cols = C;
      if (sparse.defined()) {
        rg.count = sparse.rows.numel();
        rg.index = sparse.rows.data<int64_t>();
        rg.g = sparse.values.data<float>();
      } else {
        rg.count = N;
        rg.g = dense.data<float>() + b * N * C;
      }
    }
    const int64_t per = mats[0].count;
    std::vector<float> rf(static_cast<size_t>(batches * per)), cf(static_cast<size_t>(batches * C));
    std::vector<double> usq(static_cast<size_t>(batches * per));
    for (int64_t b = 0; b < batches; ++b)
      factored_stats(mats[static_cast<size_t>(b)], R + b * N, Cs + b * C, k, rf.data() + b * per,
                     cf.data() + b * C, usq.data() + b * per);
    double sumsq = 0.0;
    for (double s : usq) sumsq += s;  // in row order: absent rows would have added exact zeros
    k.clip_div = clip_div(sumsq);
    for (int64_t b = 0; b < batches; ++b)
      factored_apply(mats[static_cast<size_t>(b)], b * N * C, rf.data() + b * per, cf.data() + b * C, m, w, k);
  });
}

void Adafactor::flush() {
  if (queued_.empty()) return;
  const std::vector<AdafactorGpuStep> steps = std::move(queued_);  // none is left queued if a launch throws
  queued_.clear();
  gpu_adafactor(steps, opt_.clip_threshold);
}

}  // namespace gt
