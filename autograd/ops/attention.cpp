// Fused attention for GQA/MQA in the [B, T, H, D] layout the projections produce.
//
// The forward keeps only the per-row log-sum-exp; the backward recomputes the probabilities from it tile by tile
// (as FlashAttention does), so no T x S matrix outlives a tile. Work is split into tiles of stacked query rows:
// the Hq / Hkv query heads that read one kv head are stacked (row = (t, j)), so one product against the key span
// serves all of them and the GEMMs are tall enough to run near peak.
//
// Matrix products run on Eigen inside parallel_for bodies, never on OpenBLAS (parallel.h: the pools share cores).
#define EIGEN_DONT_PARALLELIZE  // each tile's products run on the calling TBB worker only
// GCC 12 flags Eigen 3.4's AVX-512 packet code (built from _mm512_undefined_*) as maybe-uninitialized wherever it
// is instantiated, i.e. throughout this file; the values are fully written before use.
#if !defined(__clang__)  // clang has no such warning
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "autograd/attention_segments.h"
#include "autograd/cuda/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"
#include "base/error.h"

namespace gt {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMat = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
using MMat = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
using Arr = Eigen::Map<Eigen::ArrayXf>;
using CArr = Eigen::Map<const Eigen::ArrayXf>;

// Scratch for score rows. Eigen peels the unaligned head of a row with scalar code (std::exp instead of its packet
// exp, a different summation order), so the buffers get a fixed alignment to keep results bit-identical from run
// to run rather than dependent on where malloc put them.
using Buf = std::vector<float, Eigen::aligned_allocator<float>>;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Stacked query rows per tile (16 positions x 8 heads for E2B). Eigen packs the whole key span again for every
// product, so taller tiles amortise that packing (64 rows ran ~15% slower on the D=512 full layer); the score
// strip of a 1024-key span is then 512 KiB, still within L2.
constexpr int64_t kTileRows = 128;
// Backward tasks per batch entry and kv head. Each task owns a partial dK/dV over its key span; more tasks mean
// more parallelism but more partial memory. A fixed count (not the thread count) keeps results identical for any
// number of threads.
constexpr int64_t kBackwardTasks = 16;
// Key rows per task of the partial-gradient reduction.
constexpr int64_t kReduceRows = 64;

struct Plan {
  int64_t B = 0, T = 0, S = 0, Hq = 0, Hkv = 0, D = 0, Dv = 0;
  int64_t G = 0;  // query heads per kv head
  float scale = 1.f;
  bool causal = true;
  int64_t window = 0, q_offset = 0;
  int64_t tq = 0;  // query positions per tile (tq * G stacked rows)
  int64_t ntiles = 0;
  // Key mask as an additive score bias, 0 or -inf (Eigen's exp maps -inf to exactly 0). Empty without a mask.
  std::vector<float> bias;
  // Per batch entry: first valid key and one past the last one, so padded ends are never multiplied.
  std::vector<int64_t> kmin, kmax;
  // With segment ids, per [B, S] position: the first position of its segment and one past the last. Since each
  // segment is one run, a query sees exactly the keys of [seg_lo, seg_hi), and every row's softmax runs over its
  // own segment's keys alone. Empty without segments.
  std::vector<int64_t> seg_lo, seg_hi;

  // Visible keys of query row t are within [lo, hi); both ends are nondecreasing in t, so a tile of rows
  // t0..t1-1 sees at most [lo(t0), hi(t1 - 1)).
  int64_t lo(int64_t b, int64_t t) const {
    const int64_t p = q_offset + t;
    int64_t l = window > 0 ? std::max<int64_t>(p - window + 1, 0) : 0;
    if (!seg_lo.empty()) l = std::max(l, seg_lo[static_cast<size_t>(b * S + p)]);
    return std::max(l, kmin[static_cast<size_t>(b)]);
  }
  int64_t hi(int64_t b, int64_t t) const {
    int64_t h = causal ? std::min(q_offset + t + 1, S) : S;
    if (!seg_hi.empty()) h = std::min(h, seg_hi[static_cast<size_t>(b * S + q_offset + t)]);
    return std::min(h, kmax[static_cast<size_t>(b)]);
  }
  const float* bias_at(int64_t b, int64_t s) const { return bias.empty() ? nullptr : bias.data() + b * S + s; }
  // Offsets of the first head of kv group g at row t of the output, and of kv head g at key s.
  int64_t o_row(int64_t b, int64_t t, int64_t g) const { return ((b * T + t) * Hq + g * G) * Dv; }
  int64_t k_row(int64_t b, int64_t s, int64_t g) const { return ((b * S + s) * Hkv + g) * D; }
  int64_t v_row(int64_t b, int64_t s, int64_t g) const { return ((b * S + s) * Hkv + g) * Dv; }
  // Widest key span of any tile, for sizing the per-task score buffers.
  int64_t max_span() const { return window > 0 ? std::min(S, window + tq) : S; }
};

[[noreturn]] void shape_error(const Tensor& q, const Tensor& k, const Tensor& v, const std::string& why) {
  fail("attention: q ", q.str(), ", k ", k.str(), ", v ", v.str(), ": ", why);
}

// The segment ids as i32 [B, S] (what the CUDA kernels read), checked against the plan's shape.
std::vector<int32_t> segment_ids_i32(const Plan& p, const Tensor& seg, const Tensor& q, const Tensor& k,
                                     const Tensor& v) {
  GT_CHECK(!is_floating(seg.dtype()) && seg.dim() == 2 && seg.size(0) == p.B && seg.size(1) == p.S,
           "attention: segment_ids ", seg.str(), " must be an integer [B, S] = [", p.B, ", ", p.S, "] for q ",
           q.str(), ", k ", k.str(), ", v ", v.str());
  GT_CHECK(p.q_offset + p.T <= p.S, "attention: segment ids need every query position in the keys' range, but ",
           p.T, " queries from position ", p.q_offset, " pass the ", p.S, " keys");
  const std::vector<int64_t> ids = seg.to_ids();
  std::vector<int32_t> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    GT_CHECK(ids[i] == static_cast<int32_t>(ids[i]), "attention: segment id ", ids[i], " does not fit 32 bits");
    out[i] = static_cast<int32_t>(ids[i]);
  }
  return out;
}

// Plan::seg_lo / seg_hi: the run of positions each position shares its segment with (same_segment between
// neighbours). A segment id that comes back after another one is refused: a segment is one packed sample.
void segment_bounds(Plan& p, const Tensor& seg, const Tensor& q, const Tensor& k, const Tensor& v) {
  const std::vector<int32_t> ids = segment_ids_i32(p, seg, q, k, v);
  p.seg_lo.resize(ids.size());
  p.seg_hi.resize(ids.size());
  for (int64_t b = 0; b < p.B; ++b) {
    const size_t row = static_cast<size_t>(b * p.S);
    std::vector<int32_t> closed;
    for (int64_t s = 0; s < p.S; ++s) {
      const bool joins = s > 0 && same_segment(ids.data(), p.S, b, s, s - 1);
      p.seg_lo[row + static_cast<size_t>(s)] = joins ? p.seg_lo[row + static_cast<size_t>(s) - 1] : s;
      if (joins) continue;
      if (s > 0) closed.push_back(ids[row + static_cast<size_t>(s) - 1]);
      GT_CHECK(std::find(closed.begin(), closed.end(), ids[row + static_cast<size_t>(s)]) == closed.end(),
               "attention: segment id ", ids[row + static_cast<size_t>(s)], " of batch entry ", b,
               " comes back at position ", s, " after another segment; each segment must be one run of positions");
    }
    for (int64_t s = p.S - 1; s >= 0; --s) {
      const bool joins = s + 1 < p.S && same_segment(ids.data(), p.S, b, s, s + 1);
      p.seg_hi[row + static_cast<size_t>(s)] = joins ? p.seg_hi[row + static_cast<size_t>(s) + 1] : s + 1;
    }
  }
}

std::shared_ptr<Plan> make_plan(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt) {
  GT_CHECK(q.defined() && k.defined() && v.defined(), "attention: undefined operand");
  if (!is_floating(q.dtype()) || !is_floating(k.dtype()) || !is_floating(v.dtype()))
    shape_error(q, k, v, "float tensors expected");
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
    shape_error(q, k, v, "expected 4-D q [B, T, Hq, D], k [B, S, Hkv, D], v [B, S, Hkv, Dv]");
  auto p = std::make_shared<Plan>();
  p->B = q.size(0), p->T = q.size(1), p->Hq = q.size(2), p->D = q.size(3);
  p->S = k.size(1), p->Hkv = k.size(2), p->Dv = v.size(3);
  if (k.size(0) != p->B || v.size(0) != p->B) shape_error(q, k, v, "batch sizes differ");
  if (v.size(1) != p->S) shape_error(q, k, v, "k and v have different sequence lengths");
  if (v.size(2) != p->Hkv) shape_error(q, k, v, "k and v have different head counts");
  if (k.size(3) != p->D) shape_error(q, k, v, "q and k head dims differ");
  if (p->Hkv == 0 || p->Hq % p->Hkv != 0)
    shape_error(q, k, v, std::to_string(p->Hq) + " query heads is not a multiple of " + std::to_string(p->Hkv) +
                             " kv heads");
  GT_CHECK(opt.window >= 0, "attention: window ", opt.window, " is negative");
  GT_CHECK(opt.q_offset >= 0, "attention: q_offset ", opt.q_offset, " is negative");
  GT_CHECK(opt.window == 0 || opt.causal, "attention: a sliding window (", opt.window,
           ") is defined as p - window < s <= p and needs causal = true");
  GT_CHECK(std::isfinite(opt.scale), "attention: scale ", opt.scale, " is not finite");
  p->G = p->Hq / p->Hkv;
  p->scale = static_cast<float>(opt.scale);
  p->causal = opt.causal;
  p->window = opt.window;
  p->q_offset = opt.q_offset;
  p->tq = p->G > 0 ? std::max<int64_t>(1, kTileRows / p->G) : 1;
  p->ntiles = (p->T + p->tq - 1) / p->tq;
  p->kmin.assign(static_cast<size_t>(p->B), 0);
  p->kmax.assign(static_cast<size_t>(p->B), p->S);
  if (opt.segment_ids.defined()) segment_bounds(*p, opt.segment_ids, q, k, v);
  if (opt.key_mask.defined()) {
    const Tensor& m = opt.key_mask;
    GT_CHECK(!is_floating(m.dtype()) && m.dim() == 2 && m.size(0) == p->B && m.size(1) == p->S,
             "attention: key_mask ", m.str(), " must be an integer [B, S] = [", p->B, ", ", p->S, "] for q ",
             q.str(), ", k ", k.str(), ", v ", v.str());
    const std::vector<int64_t> ids = m.to_ids();
    p->bias.resize(ids.size());
    for (int64_t b = 0; b < p->B; ++b) {
      int64_t first = p->S, last = 0;
      for (int64_t s = 0; s < p->S; ++s) {
        const size_t i = static_cast<size_t>(b * p->S + s);
        const bool on = ids[i] != 0;
        p->bias[i] = on ? 0.f : kNegInf;
        if (on) first = std::min(first, s), last = s + 1;
      }
      p->kmin[static_cast<size_t>(b)] = first;
      p->kmax[static_cast<size_t>(b)] = last;
    }
  }
  return p;
}

// Turns one row of raw scores s[0, n) into probabilities over its visible columns [a, e) (scaled, masked, softmax
// in float32, max-subtracted) and zeros elsewhere. bias points at column 0 of the row (null without a key
// mask). Returns the log-sum-exp, -inf when no key is visible.
float softmax_row(float* s, int64_t n, int64_t a, int64_t e, const float* bias, float scale) {
  a = std::min(a, n);
  e = std::max(e, a);
  std::fill(s, s + a, 0.f);
  std::fill(s + e, s + n, 0.f);
  if (e == a) return kNegInf;
  Arr x(s + a, e - a);
  if (bias)
    x = x * scale + CArr(bias + a, e - a);
  else
    x *= scale;
  const float m = x.maxCoeff();
  if (m == kNegInf) {
    x.setZero();
    return kNegInf;
  }
  x = (x - m).exp();
  const float sum = x.sum();
  x *= 1.f / sum;
  return m + std::log(sum);
}

// The same probabilities recomputed from the saved log-sum-exp.
void probs_row(float* s, int64_t n, int64_t a, int64_t e, const float* bias, float scale, float lse) {
  a = std::min(a, n);
  e = std::max(e, a);
  std::fill(s, s + a, 0.f);
  std::fill(s + e, s + n, 0.f);
  if (e == a) return;
  Arr x(s + a, e - a);
  if (lse == kNegInf)
    x.setZero();
  else if (bias)
    x = (x * scale + CArr(bias + a, e - a) - lse).exp();
  else
    x = (x * scale - lse).exp();
}

// Copies the stacked rows (t, j), t in [t0, t1), j < G, of one kv group into a dense [rows, width] buffer, and back.
void gather(float* dst, const float* src, const Plan& p, int64_t b, int64_t g, int64_t t0, int64_t t1, int64_t width) {
  const int64_t block = p.G * width;
  for (int64_t t = t0; t < t1; ++t)
    std::memcpy(dst + (t - t0) * block, src + ((b * p.T + t) * p.Hq + g * p.G) * width,
                static_cast<size_t>(block) * sizeof(float));
}
void scatter(float* dst, const float* src, const Plan& p, int64_t b, int64_t g, int64_t t0, int64_t t1,
             int64_t width) {
  const int64_t block = p.G * width;
  for (int64_t t = t0; t < t1; ++t)
    std::memcpy(dst + ((b * p.T + t) * p.Hq + g * p.G) * width, src + (t - t0) * block,
                static_cast<size_t>(block) * sizeof(float));
}
void zero_rows(float* dst, const Plan& p, int64_t b, int64_t g, int64_t t0, int64_t t1, int64_t width) {
  for (int64_t t = t0; t < t1; ++t)
    std::fill_n(dst + ((b * p.T + t) * p.Hq + g * p.G) * width, p.G * width, 0.f);
}

// out [B, T, Hq, Dv]; lse [B, T, Hq] when not null.
void attention_forward(const Plan& p, const float* q, const float* k, const float* v, float* out, float* lse) {
  const int64_t rows = p.tq * p.G, nmax = p.max_span();
  parallel_for(p.B * p.Hkv * p.ntiles, 1, [&](int64_t begin, int64_t end) {
    Buf qbuf(static_cast<size_t>(rows * p.D)), obuf(static_cast<size_t>(rows * p.Dv));
    Buf sbuf(static_cast<size_t>(rows * nmax));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t tile = task % p.ntiles, g = (task / p.ntiles) % p.Hkv, b = task / (p.ntiles * p.Hkv);
      const int64_t t0 = tile * p.tq, t1 = std::min(p.T, t0 + p.tq), m = (t1 - t0) * p.G;
      const int64_t n0 = p.lo(b, t0), n1 = p.hi(b, t1 - 1), n = n1 - n0;
      float* lse_tile = lse ? lse + (b * p.T + t0) * p.Hq + g * p.G : nullptr;
      if (n <= 0) {
        zero_rows(out, p, b, g, t0, t1, p.Dv);
        if (lse_tile)
          for (int64_t t = 0; t < t1 - t0; ++t) std::fill_n(lse_tile + t * p.Hq, p.G, kNegInf);
        continue;
      }
      gather(qbuf.data(), q, p, b, g, t0, t1, p.D);
      const CMat Q(qbuf.data(), m, p.D, Eigen::OuterStride<>(p.D));
      const CMat K(k + p.k_row(b, n0, g), n, p.D, Eigen::OuterStride<>(p.Hkv * p.D));
      const CMat V(v + p.v_row(b, n0, g), n, p.Dv, Eigen::OuterStride<>(p.Hkv * p.Dv));
      MMat P(sbuf.data(), m, n, Eigen::OuterStride<>(n));
      P.noalias() = Q * K.transpose();
      for (int64_t r = 0; r < m; ++r) {
        const int64_t t = t0 + r / p.G, a = p.lo(b, t), e = p.hi(b, t);
        const float l = softmax_row(sbuf.data() + r * n, n, a - n0, e - n0, p.bias_at(b, n0), p.scale);
        if (lse_tile) lse_tile[(r / p.G) * p.Hq + r % p.G] = l;
      }
      MMat O(obuf.data(), m, p.Dv, Eigen::OuterStride<>(p.Dv));
      O.noalias() = P * V;
      scatter(out, obuf.data(), p, b, g, t0, t1, p.Dv);
    }
  });
}

struct Grads {
  float* dq = nullptr;  // [B, T, Hq, D]
  float* dk = nullptr;  // [B, S, Hkv, D]
  float* dv = nullptr;  // [B, S, Hkv, Dv]
};

// The key span of one (b, g, chunk) task of the backward, and where its dK/dV partial starts in the shared buffer:
// [n1 - n0, D] of dK, then [n1 - n0, Dv] of dV.
struct KeySpan {
  int64_t n0 = 0, n1 = 0, off = 0;
  float* dk(float* partial) const { return partial + off; }
  float* dv(float* partial, int64_t D) const { return partial + off + (n1 - n0) * D; }
};

// Pass 2 of the backward: each key row's dK and dV, the sum of the chunks' partials that hold it, in chunk order.
void sum_key_partials(const Plan& p, const std::vector<KeySpan>& spans, int64_t nchunks, float* partial,
                      const Grads& gr) {
  const int64_t nblocks = (p.S + kReduceRows - 1) / kReduceRows;
  parallel_for(p.B * p.Hkv * nblocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t blk = task % nblocks, bg = task / nblocks, g = bg % p.Hkv, b = bg / p.Hkv;
      const KeySpan* chunk = spans.data() + bg * nchunks;
      for (int64_t s = blk * kReduceRows; s < std::min(p.S, (blk + 1) * kReduceRows); ++s) {
        if (gr.dk) {
          Arr row(gr.dk + p.k_row(b, s, g), p.D);
          row.setZero();
          for (int64_t c = 0; c < nchunks; ++c)
            if (s >= chunk[c].n0 && s < chunk[c].n1) row += CArr(chunk[c].dk(partial) + (s - chunk[c].n0) * p.D, p.D);
        }
        if (gr.dv) {
          Arr row(gr.dv + p.v_row(b, s, g), p.Dv);
          row.setZero();
          for (int64_t c = 0; c < nchunks; ++c)
            if (s >= chunk[c].n0 && s < chunk[c].n1)
              row += CArr(chunk[c].dv(partial, p.D) + (s - chunk[c].n0) * p.Dv, p.Dv);
        }
      }
    }
  });
}

// Backward in two deterministic passes. Pass 1: task (b, g, chunk of tiles) recomputes P per tile, writes its dQ
// rows (complete: a tile sees all its keys) and accumulates dK/dV over the chunk's key span into a private
// partial. Pass 2 sums the partials per key row in chunk order. No two tasks write the same memory and the
// summation order depends only on the shapes.
void attention_backward(const Plan& p, const float* q, const float* k, const float* v, const float* o,
                        const float* lse, const float* dout, const Grads& gr) {
  const bool need_kv = gr.dk || gr.dv, need_ds = gr.dq || gr.dk;
  const int64_t rows = p.tq * p.G, nmax = p.max_span();
  const int64_t per_bg = std::min(p.ntiles, std::max<int64_t>(1, kBackwardTasks / std::max<int64_t>(1, p.B * p.Hkv)));
  const int64_t tpc = per_bg == 0 ? 1 : (p.ntiles + per_bg - 1) / per_bg;  // tiles per chunk
  const int64_t nchunks = (p.ntiles + tpc - 1) / tpc;
  const int64_t width = p.D + p.Dv;

  // Key span and partial-buffer offset of every (b, g, chunk).
  std::vector<KeySpan> spans(static_cast<size_t>(p.B * p.Hkv * nchunks));
  int64_t total = 0;
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t g = 0; g < p.Hkv; ++g)
      for (int64_t c = 0; c < nchunks; ++c) {
        const int64_t t0 = c * tpc * p.tq, t1 = std::min(p.T, (c + 1) * tpc * p.tq);
        KeySpan& sp = spans[static_cast<size_t>((b * p.Hkv + g) * nchunks + c)];
        sp.n0 = p.lo(b, t0);
        sp.n1 = std::max(sp.n0, p.hi(b, t1 - 1));
        sp.off = total;
        if (need_kv) total += (sp.n1 - sp.n0) * width;
      }
  Tensor partial_t = Tensor::empty({total});
  float* partial = partial_t.data<float>();

  parallel_for(p.B * p.Hkv * nchunks, 1, [&](int64_t begin, int64_t end) {
    Buf qbuf(static_cast<size_t>(rows * p.D)), dobuf(static_cast<size_t>(rows * p.Dv));
    Buf dqbuf(static_cast<size_t>(gr.dq ? rows * p.D : 0)), di(static_cast<size_t>(rows));
    Buf pbuf(static_cast<size_t>(rows * nmax)), dsbuf(static_cast<size_t>(need_ds ? rows * nmax : 0));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t c = task % nchunks, g = (task / nchunks) % p.Hkv, b = task / (nchunks * p.Hkv);
      const KeySpan& sp = spans[static_cast<size_t>(task)];
      // Without K/V gradients there is no partial buffer (an offset from a null pointer is undefined).
      float* dkp = need_kv ? sp.dk(partial) : nullptr;
      float* dvp = need_kv ? sp.dv(partial, p.D) : nullptr;
      if (need_kv) std::fill_n(dkp, (sp.n1 - sp.n0) * width, 0.f);
      for (int64_t tile = c * tpc; tile < std::min(p.ntiles, (c + 1) * tpc); ++tile) {
        const int64_t t0 = tile * p.tq, t1 = std::min(p.T, t0 + p.tq), m = (t1 - t0) * p.G;
        const int64_t n0 = p.lo(b, t0), n1 = p.hi(b, t1 - 1), n = n1 - n0;
        if (n <= 0) {
          if (gr.dq) zero_rows(gr.dq, p, b, g, t0, t1, p.D);
          continue;
        }
        gather(qbuf.data(), q, p, b, g, t0, t1, p.D);
        gather(dobuf.data(), dout, p, b, g, t0, t1, p.Dv);
        const CMat Q(qbuf.data(), m, p.D, Eigen::OuterStride<>(p.D));
        const CMat dO(dobuf.data(), m, p.Dv, Eigen::OuterStride<>(p.Dv));
        const CMat K(k + p.k_row(b, n0, g), n, p.D, Eigen::OuterStride<>(p.Hkv * p.D));
        const CMat V(v + p.v_row(b, n0, g), n, p.Dv, Eigen::OuterStride<>(p.Hkv * p.Dv));
        MMat P(pbuf.data(), m, n, Eigen::OuterStride<>(n));
        P.noalias() = Q * K.transpose();
        const float* lse_tile = lse + (b * p.T + t0) * p.Hq + g * p.G;
        for (int64_t r = 0; r < m; ++r) {
          const int64_t t = t0 + r / p.G, a = p.lo(b, t), e = p.hi(b, t);
          probs_row(pbuf.data() + r * n, n, a - n0, e - n0, p.bias_at(b, n0), p.scale,
                    lse_tile[(r / p.G) * p.Hq + r % p.G]);
        }
        if (gr.dv) {
          MMat dV(dvp + (n0 - sp.n0) * p.Dv, n, p.Dv, Eigen::OuterStride<>(p.Dv));
          dV.noalias() += P.transpose() * dO;
        }
        if (!need_ds) continue;
        // dS = P * (dP - rowsum(dO * O)) * scale, with dP = dO V^T; the scale is folded in here once so both
        // dQ = dS K and dK = dS^T Q come out scaled.
        for (int64_t r = 0; r < m; ++r) {
          const int64_t t = t0 + r / p.G, j = r % p.G;
          const float* orow = o + p.o_row(b, t, g) + j * p.Dv;
          di[static_cast<size_t>(r)] = CArr(dobuf.data() + r * p.Dv, p.Dv).matrix().dot(CArr(orow, p.Dv).matrix());
        }
        MMat dS(dsbuf.data(), m, n, Eigen::OuterStride<>(n));
        dS.noalias() = dO * V.transpose();
        for (int64_t r = 0; r < m; ++r) {
          Arr ds(dsbuf.data() + r * n, n);
          ds = CArr(pbuf.data() + r * n, n) * (ds - di[static_cast<size_t>(r)]) * p.scale;
        }
        if (gr.dq) {
          MMat dQ(dqbuf.data(), m, p.D, Eigen::OuterStride<>(p.D));
          dQ.noalias() = dS * K;
          scatter(gr.dq, dqbuf.data(), p, b, g, t0, t1, p.D);
        }
        if (gr.dk) {
          MMat dK(dkp + (n0 - sp.n0) * p.D, n, p.D, Eigen::OuterStride<>(p.D));
          dK.noalias() += dS.transpose() * Q;
        }
      }
    }
  });
  if (need_kv) sum_key_partials(p, spans, nchunks, partial, gr);
}

// The GPU path (autograd/cuda/attention.cu): operands dense in q's dtype, the key mask and segment ids as i32 on the
// device.
Tensor attention_cuda(const Plan& p, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt) {
  cuda::AttentionShape s;
  s.B = p.B, s.T = p.T, s.S = p.S, s.Hq = p.Hq, s.Hkv = p.Hkv, s.D = p.D, s.Dv = p.Dv;
  s.scale = p.scale, s.causal = p.causal, s.window = p.window, s.q_offset = p.q_offset;
  const DType dt = q.dtype();
  const Tensor qc = dense_as(q, dt), kc = dense_as(k, dt), vc = dense_as(v, dt);
  const Tensor mask = opt.key_mask.defined() ? dense_as(opt.key_mask, DType::I32).to(Device::CUDA) : Tensor();
  const Tensor seg = opt.segment_ids.defined() ? dense_as(opt.segment_ids, DType::I32).to(Device::CUDA) : Tensor();
  Tensor out = Tensor::empty({p.B, p.T, p.Hq, p.Dv}, dt, Device::CUDA);
  const bool rec = any_requires_grad({q, k, v});
  Tensor lse = rec ? Tensor::empty({p.B, p.T, p.Hq}, DType::F32, Device::CUDA) : Tensor();
  cuda::attention_forward(s, qc, kc, vc, {mask, seg}, out, lse);
  if (rec) {
    record("attention", {q, k, v}, {out},
           [s, sq = qc.detach(), sk = kc.detach(), sv = vc.detach(), so = out.detach(), lse, mask, seg](GradSink& g) {
             const Tensor& dout = g.out();
             Tensor dq = g.needs(0) ? Tensor::empty(sq.shape(), sq.dtype(), Device::CUDA) : Tensor();
             Tensor dk = g.needs(1) ? Tensor::empty(sk.shape(), sk.dtype(), Device::CUDA) : Tensor();
             Tensor dv = g.needs(2) ? Tensor::empty(sv.shape(), sv.dtype(), Device::CUDA) : Tensor();
             cuda::attention_backward(s, sq, sk, sv, {mask, seg}, so, lse, dense_as(dout, sq.dtype()), dq, dk, dv);
             if (dq.defined()) g.add(0, dq);
             if (dk.defined()) g.add(1, dk);
             if (dv.defined()) g.add(2, dv);
           });
  }
  return out;
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opt) {
  std::shared_ptr<const Plan> plan = make_plan(q, k, v, opt);
  const Plan& p = *plan;
  if (same_device("attention", {q, k, v}) == Device::CUDA) return attention_cuda(p, q, k, v, opt);
  const Tensor qf = dense_f32(q), kf = dense_f32(k), vf = dense_f32(v);
  Tensor out = Tensor::empty({p.B, p.T, p.Hq, p.Dv});
  const bool rec = any_requires_grad({q, k, v});
  Tensor lse = rec ? Tensor::empty({p.B, p.T, p.Hq}) : Tensor();
  attention_forward(p, qf.data<float>(), kf.data<float>(), vf.data<float>(), out.data<float>(),
                    rec ? lse.data<float>() : nullptr);
  if (rec) {
    record("attention", {q, k, v}, {out},
           [plan, sq = qf.detach(), sk = kf.detach(), sv = vf.detach(), so = out.detach(), lse](GradSink& g) {
             const Plan& p = *plan;
             const Tensor dout = dense_f32(g.out());
             Tensor dq = g.needs(0) ? Tensor::empty(sq.shape()) : Tensor();
             Tensor dk = g.needs(1) ? Tensor::empty(sk.shape()) : Tensor();
             Tensor dv = g.needs(2) ? Tensor::empty(sv.shape()) : Tensor();
             Grads gr;
             if (dq.defined()) gr.dq = dq.data<float>();
             if (dk.defined()) gr.dk = dk.data<float>();
             if (dv.defined()) gr.dv = dv.data<float>();
             attention_backward(p, sq.data<float>(), sk.data<float>(), sv.data<float>(), so.data<float>(),
                                lse.data<float>(), dout.data<float>(), gr);
             if (dq.defined()) g.add(0, dq);
             if (dk.defined()) g.add(1, dk);
             if (dv.defined()) g.add(2, dv);
           });
  }
  return out;
}

}  // namespace gt
