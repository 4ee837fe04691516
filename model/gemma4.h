#pragma once
// The Gemma 4 text decoder (E2B and its tiny relatives) on the autograd core, equal to transformers' fp32 eager
// forward and backward (docs/model.md §2, §5): load and save Hugging Face checkpoints, logits, causal-LM loss.
//
// Storage policy: parameters keep the checkpoint's dtype by default (bf16 stays bf16 and is a copy-on-write view
// of the mapped file; f16 is widened to f32 on read), or are converted on load (LoadOptions::storage). Compute is
// float32 throughout: every op widens bf16 operands, gradients are f32. The embedding scales follow transformers:
// sqrt(hidden) rounded to float32 and then to the table's dtype (39.25 for E2B in bf16, 39.1918 in f32).
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/tensor.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/lora.h"

namespace gt {

enum class StoragePolicy : uint8_t { Keep, F32, BF16 };

struct LoadOptions {
  StoragePolicy storage = StoragePolicy::Keep;
  // Progress and "skipped N tensors" lines; defaults to stderr.
  std::function<void(const std::string&)> log;
};

struct ForwardOptions {
  // Recompute each decoder layer in backward instead of keeping its activations (autograd checkpoint()).
  bool checkpoint_layers = false;
  // Optional [B, T] integer mask, 0 for padding keys (left padding). Positions stay 0..T-1, as in transformers.
  Tensor attention_mask;
  // Optional [B, T] integer segment ids of packed rows (training only, no cache): each id one contiguous run, one
  // packed sample. Attention stays inside a segment on every layer (ops.h: AttentionOptions::segment_ids) and the
  // positions restart at 0 where a segment starts, so each sample is computed as if alone in its row.
  Tensor segment_ids;
  // When set, receives the scaled embeddings and then every layer's output (before the final norm): what
  // transformers returns as hidden_states, for comparing runs layer by layer.
  std::vector<Tensor>* hidden_states = nullptr;
  // Inference with a KV cache: the ids continue the cached sequence (positions start at cache->length), their
  // keys and values are appended, sliding entries trimmed. Recording must be off (NoGradGuard).
  KVCache* cache = nullptr;
  // With an adapter attached (Gemma4::set_adapter): adapter_off runs the base alone (GRPO's reference policy), and
  // lora_dropout_key, set only by training forwards, turns lora_dropout on with masks drawn from it.
  bool adapter_off = false;
  std::optional<uint64_t> lora_dropout_key;
};

// Handles of one decoder layer's tensors (entries of Gemma4::state()); k_proj/v_proj/k_norm are undefined on
// KV-shared layers, the per-layer-input ones when the model has no per-layer embeddings.
struct Gemma4Layer {
  Tensor input_layernorm, post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm;
  Tensor q_proj, k_proj, v_proj, o_proj, q_norm, k_norm;
  Tensor gate_proj, up_proj, down_proj;
  Tensor per_layer_input_gate, per_layer_projection, post_per_layer_input_norm;
  Tensor layer_scalar;  // buffer [1], not trainable
  std::array<LoraWeights, kLoraTargets> lora;  // the attached adapter's A and B of each linear, by LoraTarget
};

class Gemma4 {
 public:
  // Reads DIR/config.json and the checkpoint in DIR. Tensors under the text prefix (model. or
  // model.language_model.) must all be present with the shapes the config implies; vision/audio towers and the
  // unused k/v/k_norm of KV-shared layers are skipped (one log line per kind) and kept, unread, for save();
  // lm_head.weight may be absent or must equal the embedding table. Any other tensor is an error. An FP8 export's
  // F8_E4M3 linears (docs/export.md) are read dequantized to f32 (codes x weight_scale).
  static Gemma4 load(const std::string& dir, const LoadOptions& options = {});
  // Random weights for a config (tests and benchmarks): linears and embeddings N(0, std), norms 1 + N(0, 0.1),
  // layer_scalar 1; float32.
  static Gemma4 random(const Gemma4Config& config, uint64_t seed, double std = 0.02);
  // The same distributions drawn directly on `device` in `dtype`. On the GPU a counter-based generator fills each
  // tensor in one pass (an E2B-sized model in about a second); its values differ from the CPU's for the same seed.
  static Gemma4 random(const Gemma4Config& config, uint64_t seed, double std, Device device, DType dtype);

  const Gemma4Config& config() const { return config_; }
  // Moves every parameter and buffer to `device` (fresh leaves: any gradient is dropped), for instance to the GPU
  // after loading; the skipped checkpoint tensors stay where they are, for save().
  void to(Device device);
  Device device() const { return embed_tokens.device(); }
  // Parameters and buffers under their transformers names without the prefix ("layers.3.mlp.up_proj.weight",
  // "layers.3.layer_scalar"). Buffers are not trainable. The per-layer embedding table takes row-sparse gradients.
  NamedParameters& state() { return state_; }
  const NamedParameters& state() const { return state_; }
  const Gemma4Layer& layer(int64_t l) const { return layers_.at(static_cast<size_t>(l)); }

  // LoRA (model/lora.h, docs/lora.md). set_adapter attaches an adapter made for this model (moved to its device);
  // every forward then applies it unless ForwardOptions::adapter_off. freeze() stops the base's parameters from
  // taking gradients, so only the adapter trains. merge_adapter() folds W += s · B A into the base weights (in f32,
  // stored back in their dtype) and detaches the adapter.
  void set_adapter(LoraAdapter adapter);
  LoraAdapter* adapter() { return adapter_.get(); }
  const LoraAdapter* adapter() const { return adapter_.get(); }
  void freeze();
  void merge_adapter();

  // ids [B, T] (integers) -> final-normed hidden states [B, T, hidden].
  Tensor hidden_states(const Tensor& ids, const ForwardOptions& options = {}) const;
  // hidden [..., hidden] -> logits [..., vocab]: the tied head, then the final softcap.
  Tensor head(const Tensor& hidden) const;
  Tensor logits(const Tensor& ids, const ForwardOptions& options = {}) const { return head(hidden_states(ids, options)); }
  // The two fused heads take targets [B, T] (integer, -100 = none) in one convention, without a shift: position t
  // is scored against targets[b, t] (next_token_targets turns input-aligned labels into that). They run `chunk`
  // rows at a time, so no [B*T, vocab] logits tensor is kept (forward or backward); gradients reach `hidden` and
  // the embedding table (ops.h: linear_cross_entropy, linear_token_logprobs).
  //
  // The mean cross-entropy over the positions with a target: causal_lm_loss(head(hidden), labels) when targets =
  // next_token_targets(labels).
  Tensor head_loss(const Tensor& hidden, const Tensor& targets, int64_t chunk = 256) const;
  // Per-position log-probabilities of the targets under softmax(head(hidden) / temperature): [B, T], 0 where there
  // is no target. Only the positions with a target go through the head (GRPO's token log-probs, docs/spec.md §6).
  Tensor head_logprobs(const Tensor& hidden, const Tensor& targets, double temperature = 1.0,
                       int64_t chunk = 256) const;

  // Writes DIR/config.json (the config as read) and DIR/model.safetensors in the layout it was read from: the
  // same prefix, the parameters in their storage dtype (or `dtype` when given), the skipped tensors unchanged.
  void save(const std::string& dir) const;
  void save(const std::string& dir, DType dtype) const;
  // The checkpoint tensors load skipped (vision/audio towers, unused k/v of KV-shared layers), full names, for
  // writers of other formats (export/).
  const std::vector<std::pair<std::string, Tensor>>& passthrough() const { return passthrough_; }

 private:
  Gemma4() = default;
  void build_handles();
  std::vector<std::pair<std::string, Shape>> expected_shapes() const;

  Gemma4Config config_;
  NamedParameters state_;
  std::vector<Gemma4Layer> layers_;
  Tensor embed_tokens, embed_tokens_per_layer, per_layer_model_projection, per_layer_projection_norm, norm;
  std::vector<std::pair<std::string, Tensor>> passthrough_;  // skipped checkpoint tensors, full names
  std::shared_ptr<LoraAdapter> adapter_;  // shared by copies of the model, as its tensors are
};

// transformers' causal-LM loss: logits [B, T, V], labels [B, T] (integer, -100 = ignore); position t predicts
// labels[t + 1], the last position predicts nothing; mean over the counted positions.
Tensor causal_lm_loss(const Tensor& logits, const Tensor& labels);
// transformers' label shift: labels [B, T] -> targets [B, T] with targets[b, t] = labels[b, t + 1] and -100 at the
// last position, the form the fused heads take.
Tensor next_token_targets(const Tensor& labels);

// The prefix of the text decoder's tensors in a checkpoint of this form.
const char* text_prefix(const Gemma4Config& config);

}  // namespace gt
