// The Gemma 4 text graph (docs/model.md §2): embeddings and per-layer inputs, the decoder layers with KV sharing, the
// final norm. The tied head and the losses on it are in head.cpp.
#include <array>
#include <cmath>

#include "autograd/ops.h"
#include "base/error.h"
#include "model/gemma4.h"
#include "model/kv_cache.h"

namespace gt {

namespace {

// transformers keeps sqrt(dim) as a float32 buffer and casts it to the table's dtype before multiplying.
double embed_scale(int64_t dim, DType table) {
  const float s = static_cast<float>(std::sqrt(static_cast<double>(dim)));
  return table == DType::BF16 ? round_to_bf16(s) : s;
}

struct Rotary {
  Tensor cos, sin;  // [T, head_dim / 2]
};

// The positions of the tokens: [T] from pos0 (past tokens in the cache come first), or with segment ids [B, T],
// restarting at 0 at each segment's first token.
Tensor positions(int64_t pos0, int64_t T, const Tensor& segment_ids) {
  if (!segment_ids.defined()) {
    std::vector<int64_t> pos(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) pos[static_cast<size_t>(t)] = pos0 + t;
    return Tensor::from_ids(pos, {T});
  }
  const std::vector<int64_t> seg = segment_ids.to_ids();
  std::vector<int64_t> pos(seg.size());
  for (size_t i = 0; i < seg.size(); ++i)
    pos[i] = i % static_cast<size_t>(T) != 0 && seg[i] == seg[i - 1] ? pos[i - 1] + 1 : 0;
  return Tensor::from_ids(pos, segment_ids.shape());
}

// cos/sin for `pos` ([T] or [B, T]).
Rotary make_rotary(const RopeConfig& r, const Tensor& pos) {
  Tensor inv = rope_inv_freq(r.head_dim, r.theta, r.rotated);
  if (r.factor != 1.0) {
    float* p = inv.data<float>();
    for (int64_t i = 0; i < inv.numel(); ++i) p[i] /= static_cast<float>(r.factor);
  }
  RopeTable t = rope_table(inv, pos);
  return {t.cos, t.sin};
}

// What restricts the keys a query sees beyond causality and the window (ForwardOptions).
struct KeyMasks {
  Tensor key_mask, segment_ids;
};

struct LayerOut {
  Tensor h, k, v;  // k, v: the keys and values this layer attended over (defined for layers that own them)
};

// One decoder layer. k_in/v_in are the source layer's keys and values on a KV-shared layer, undefined otherwise.
// With a cache, `entry` is this layer's own entry (which gains the new keys) or, on a KV-shared layer, its
// source's (read for the position of its first key); pos0 is the absolute position of the first query.
// `lora` is null when no adapter applies; `index` is the layer's number (it tells the dropout masks apart).
LayerOut decoder_layer(const Gemma4Config& c, const LayerConfig& lc, const Gemma4Layer& w, const Tensor& h_in,
                       const Tensor& pli, const Tensor& k_in, const Tensor& v_in, const Rotary& rot,
                       const KeyMasks& masks, const LoraRun* lora, int64_t index, KVCache::Entry* entry = nullptr,
                       int64_t pos0 = 0) {
  const int64_t B = h_in.size(0), T = h_in.size(1), H = c.num_heads, D = lc.head_dim;
  const double eps = c.rms_norm_eps;
  // The one call site of the adaptable linears: the base weight plus, when an adapter applies, its A and B.
  auto proj = [&](const Tensor& x, const Tensor& weight, LoraTarget t) {
    const auto i = static_cast<size_t>(t);
    return lora_linear(x, weight, w.lora[i], lora, static_cast<uint64_t>(index) * kLoraTargets + i);
  };

  const Tensor x = rms_norm(h_in, w.input_layernorm, eps);
  Tensor q = rms_norm(proj(x, w.q_proj, LoraTarget::Q).reshape({B, T, H, D}), w.q_norm, eps);
  q = rope(q, rot.cos, rot.sin);
  Tensor k = k_in, v = v_in;
  if (!lc.kv_shared) {
    k = rope(rms_norm(proj(x, w.k_proj, LoraTarget::K).reshape({B, T, lc.kv_heads, D}), w.k_norm, eps), rot.cos,
             rot.sin);
    v = rms_norm(proj(x, w.v_proj, LoraTarget::V).reshape({B, T, lc.kv_heads, D}), Tensor(), eps);
    if (entry) {
      if (entry->k.defined()) {
        k = concat({entry->k, k}, 1);
        v = concat({entry->v, v}, 1);
      }
      entry->k = k;
      entry->v = v;
    }
  }
  AttentionOptions ao;
  ao.scale = 1.0;  // q_norm and k_norm replace the 1/sqrt(d) scaling
  ao.causal = true;
  ao.window = lc.type == LayerType::Sliding ? c.sliding_window : 0;
  ao.key_mask = masks.key_mask;
  ao.segment_ids = masks.segment_ids;
  ao.q_offset = entry ? pos0 - entry->start : 0;
  const Tensor a = attention(q, k, v, ao).reshape({B, T, H * D});
  Tensor h = add(h_in, rms_norm(proj(a, w.o_proj, LoraTarget::O), w.post_attention_layernorm, eps));

  const Tensor m = rms_norm(h, w.pre_feedforward_layernorm, eps);
  const Tensor act = gelu_tanh_mul(proj(m, w.gate_proj, LoraTarget::Gate), proj(m, w.up_proj, LoraTarget::Up));
  h = add(h, rms_norm(proj(act, w.down_proj, LoraTarget::Down), w.post_feedforward_layernorm, eps));

  if (c.ple_dim) {
    const Tensor g = gelu_tanh_mul(linear(h, w.per_layer_input_gate), pli);
    h = add(h, rms_norm(linear(g, w.per_layer_projection), w.post_per_layer_input_norm, eps));
  }
  // layer_scalar is a buffer [1] (no gradient): a broadcast multiply, the same float products as a scalar one, and
  // no read of the value on the host (a GPU model would wait for the device once per layer).
  h = mul(h, w.layer_scalar);
  return {h, lc.kv_shared ? Tensor() : k, lc.kv_shared ? Tensor() : v};
}

}  // namespace

Tensor Gemma4::hidden_states(const Tensor& ids, const ForwardOptions& options) const {
  const Gemma4Config& c = config_;
  GT_CHECK(ids.defined() && !is_floating(ids.dtype()) && ids.dim() == 2 && ids.size(1) > 0,
           "Gemma4: ids must be integer [B, T] with T > 0, got ", ids.defined() ? ids.str() : "undefined");
  const int64_t B = ids.size(0), T = ids.size(1), L = c.num_layers, P = c.ple_dim;
  if (options.attention_mask.defined())
    GT_CHECK(options.attention_mask.shape() == ids.shape() && !is_floating(options.attention_mask.dtype()),
             "Gemma4: attention_mask ", options.attention_mask.str(), " must be integer and shaped like ids ",
             ids.str());
  if (options.segment_ids.defined())
    GT_CHECK(options.segment_ids.shape() == ids.shape() && !is_floating(options.segment_ids.dtype()),
             "Gemma4: segment_ids ", options.segment_ids.str(), " must be integer and shaped like ids ", ids.str());

  Tensor h = scale(embedding(embed_tokens, ids, c.pad_token_id), embed_scale(c.hidden_size, embed_tokens.dtype()));
  if (options.hidden_states) options.hidden_states->push_back(h);

  std::vector<Tensor> pli(static_cast<size_t>(L));
  if (P) {
    // Token identity (the packed [V, L*P] table, layer index the slow axis within a row) plus a projection of the
    // scaled main embedding, normed per layer (§2.2).
    const Tensor ple = scale(embedding(embed_tokens_per_layer, ids, c.pad_token_id),
                             embed_scale(P, embed_tokens_per_layer.dtype()))
                           .reshape({B, T, L, P});
    Tensor proj = scale(linear(h, per_layer_model_projection), std::pow(static_cast<double>(c.hidden_size), -0.5));
    proj = rms_norm(proj.reshape({B, T, L, P}), per_layer_projection_norm, c.rms_norm_eps);
    // Layer-major, then one split node: each layer's slice is a contiguous view and its gradient is assembled once.
    const Tensor all = scale(add(proj, ple), std::pow(2.0, -0.5)).permute({2, 0, 1, 3}).contiguous();
    std::vector<Tensor> parts = split(all, std::vector<int64_t>(static_cast<size_t>(L), 1), 0);
    for (int64_t l = 0; l < L; ++l) pli[static_cast<size_t>(l)] = parts[static_cast<size_t>(l)].reshape({B, T, P});
  }

  const int64_t pos0 = options.cache ? options.cache->length : 0;
  const Tensor pos = positions(pos0, T, options.segment_ids);
  std::array<Rotary, 2> rot;
  for (LayerType t : {LayerType::Sliding, LayerType::Full})
    if (c.rope(t).head_dim) {
      Rotary& r = rot[static_cast<size_t>(t)];
      r = make_rotary(c.rope(t), pos);
      r.cos = r.cos.to(embed_tokens.device());
      r.sin = r.sin.to(embed_tokens.device());
    }

  // Keys and values of the layers that KV-shared layers read, from THIS pass: gradients of every consumer flow
  // back into the source layer through them (docs/model.md §2.5, docs/pitfalls.md item 1).
  std::vector<bool> is_source(static_cast<size_t>(L), false);
  for (const LayerConfig& lc : c.layers)
    if (lc.kv_shared) is_source[static_cast<size_t>(lc.kv_source)] = true;
  std::vector<std::pair<Tensor, Tensor>> kv(static_cast<size_t>(L));

  const KeyMasks mask{options.attention_mask, options.segment_ids};
  KVCache* cache = options.cache;
  std::optional<LoraRun> lora;
  if (adapter_ && !options.adapter_off)
    lora = LoraRun{adapter_->config().scale(), adapter_->config().lora_dropout, options.lora_dropout_key};
  const LoraRun* run = lora ? &*lora : nullptr;
  if (cache) {
    GT_CHECK(!options.checkpoint_layers && !mask.key_mask.defined() && !mask.segment_ids.defined() &&
                 !any_requires_grad({embed_tokens}),
             "Gemma4: a KV cache is for inference: no gradient checkpointing, attention mask, segment ids or "
             "recording");
    if (cache->layers.empty()) cache->layers.resize(static_cast<size_t>(L));
    GT_CHECK(static_cast<int64_t>(cache->layers.size()) == L && (cache->batch() == 0 || cache->batch() == B),
             "Gemma4: KV cache of ", cache->layers.size(), " layers and batch ", cache->batch(), " used for ", L,
             " layers and batch ", B);
  }
  for (int64_t l = 0; l < L; ++l) {
    const LayerConfig& lc = c.layers[static_cast<size_t>(l)];
    const Gemma4Layer& w = layers_[static_cast<size_t>(l)];
    const Rotary& r = rot[static_cast<size_t>(lc.type)];
    const Tensor& p = pli[static_cast<size_t>(l)];
    Tensor k_in, v_in;
    if (lc.kv_shared) std::tie(k_in, v_in) = kv[static_cast<size_t>(lc.kv_source)];
    LayerOut out;
    if (options.checkpoint_layers) {
      // Inputs: h, then the per-layer input and the shared keys/values when the layer has them.
      std::vector<Tensor> in{h};
      if (P) in.push_back(p);
      if (lc.kv_shared) in.insert(in.end(), {k_in, v_in});
      const bool keep_kv = is_source[static_cast<size_t>(l)];
      const Gemma4Config* cp = &config_;
      auto fn = [cp, lc, w, r, mask, P, keep_kv, lora, l](const std::vector<Tensor>& x) {
        size_t i = 1;
        const Tensor pl = P ? x[i++] : Tensor();
        const Tensor ki = lc.kv_shared ? x[i] : Tensor(), vi = lc.kv_shared ? x[i + 1] : Tensor();
        LayerOut o = decoder_layer(*cp, lc, w, x[0], pl, ki, vi, r, mask, lora ? &*lora : nullptr, l);
        return keep_kv ? std::vector<Tensor>{o.h, o.k, o.v} : std::vector<Tensor>{o.h};
      };
      std::vector<Tensor> res = checkpoint(fn, in);
      out.h = res[0];
      if (keep_kv) {
        out.k = res[1];
        out.v = res[2];
      }
    } else {
      KVCache::Entry* entry = cache ? &cache->layers[static_cast<size_t>(lc.kv_shared ? lc.kv_source : l)] : nullptr;
      out = decoder_layer(c, lc, w, h, p, k_in, v_in, r, mask, run, l, entry, pos0);
    }
    h = out.h;
    if (options.hidden_states) options.hidden_states->push_back(h);
    if (is_source[static_cast<size_t>(l)]) kv[static_cast<size_t>(l)] = {out.k, out.v};
  }
  if (cache) {
    cache->length += T;
    // Trimmed only now, so every KV-shared layer above saw the same keys as its source (docs/model.md §2.5).
    for (int64_t l = 0; l < L; ++l) {
      KVCache::Entry& e = cache->layers[static_cast<size_t>(l)];
      const LayerConfig& lc = c.layers[static_cast<size_t>(l)];
      if (!e.k.defined() || lc.type != LayerType::Sliding) continue;
      const int64_t keep = c.sliding_window - 1, S = e.k.size(1);
      if (S <= keep) continue;
      e.k = e.k.slice(1, S - keep, S).contiguous();
      e.v = e.v.slice(1, S - keep, S).contiguous();
      e.start += S - keep;
    }
  }
  return rms_norm(h, norm, c.rms_norm_eps);
}

}  // namespace gt
