#pragma once
// What the two attention paths (attention.cu: the products; attention_tiled.cu: the FlashAttention kernels) share:
// the launch constants, the parameters a kernel reads, and which keys a query row sees.
//
// Rows: the G = Hq / Hkv query heads that read one kv head are stacked, row r = t * G + j, so one key tile serves
// all of them (for MQA all 8 heads of E2B).
#include "autograd/attention_segments.h"
#include "autograd/cuda/kernels.h"

namespace gt::cuda::attention_detail {

constexpr int kThreads = 256;
constexpr int M = 16;         // stacked query rows per tile
constexpr int kFwdKeys = 32;  // keys per tile in the forward
constexpr int kBwdKeys = 16;  // keys per tile in the backward

struct Params {
  int64_t B, T, S, Hq, Hkv, G, D, Dv;
  float scale;
  bool causal;
  int64_t window, q_offset;
  const int32_t* mask;  // [B, S] or null
  const int32_t* seg;   // [B, S] segment ids or null
};

inline Params make_params(const AttentionShape& s, const AttentionMasks& m) {
  Params p{};
  p.B = s.B, p.T = s.T, p.S = s.S, p.Hq = s.Hq, p.Hkv = s.Hkv, p.G = s.Hq / s.Hkv, p.D = s.D, p.Dv = s.Dv;
  p.scale = s.scale;
  p.causal = s.causal;
  p.window = s.window;
  p.q_offset = s.q_offset;
  p.mask = m.key_mask.defined() ? static_cast<const int32_t*>(m.key_mask.raw()) : nullptr;
  p.seg = m.segment_ids.defined() ? static_cast<const int32_t*>(m.segment_ids.raw()) : nullptr;
  return p;
}

// Visible keys of query position t lie in [lo, hi); the mask and the segment ids may hide some of them. Both
// bounds are nondecreasing in t.
__device__ __forceinline__ int64_t key_lo(const Params& p, int64_t t) {
  return p.window > 0 ? max(p.q_offset + t - p.window + 1, int64_t{0}) : 0;
}
__device__ __forceinline__ int64_t key_hi(const Params& p, int64_t t) {
  return p.causal ? min(p.q_offset + t + 1, p.S) : p.S;
}
__device__ __forceinline__ bool visible(const Params& p, int64_t b, int64_t t, int64_t s) {
  return s >= key_lo(p, t) && s < key_hi(p, t) && (!p.mask || p.mask[b * p.S + s] != 0) &&
         same_segment(p.seg, p.S, b, p.q_offset + t, s);
}

// Element offset of stacked row r (of kv group g, batch b) in a [B, T, Hq, width] tensor.
__device__ __forceinline__ int64_t row_offset(const Params& p, int64_t b, int64_t g, int64_t r, int64_t width) {
  const int64_t t = r / p.G, j = r % p.G;
  return ((b * p.T + t) * p.Hq + g * p.G + j) * width;
}
__device__ __forceinline__ int64_t key_offset(const Params& p, int64_t b, int64_t g, int64_t s, int64_t width) {
  return ((b * p.S + s) * p.Hkv + g) * width;
}

// The FlashAttention path (attention_tiled.cu) for the shapes the products path does not take.
void tiled_forward(const AttentionShape& s, const Params& p, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& out, const Tensor& lse);
void tiled_backward(const AttentionShape& s, const Params& p, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& out, const Tensor& lse, const Tensor& dout, const Tensor& dq, const Tensor& dk,
                    const Tensor& dv);

}  // namespace gt::cuda::attention_detail
