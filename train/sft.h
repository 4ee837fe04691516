#pragma once
// Supervised fine-tuning (docs/spec.md §4): batch 1 by default, the loss on the model's own tokens only, epochs over
// a shuffled order, held-out loss, checkpoints and an exact resume.
//
// Steps. One optimizer step takes batch_size x grad_accumulation sequences in the epoch's order (the last step of an
// epoch takes what is left), grad_accumulation forwards of batch_size sequences each; a sequence is one sample, or
// with packing several (train/sft_packing.h). Its loss is the mean cross-entropy over every trainable token of the
// step's samples (the token mean of transformers' accumulation with num_items_in_batch), so one step of k samples
// equals one batch of k, packed or not. Training
// ends after `epochs` epochs or at max_steps, whichever comes first; schedules span that many steps.
//
// Order. Epoch e visits the sequences in a permutation drawn by Fisher-Yates from one portable random stream seeded
// by `seed` (the sampler's xoshiro256**), which continues from epoch to epoch.
//
// Exact resume. A checkpoint holds the weights, the optimizer's state, the step, the epoch, the position in it and
// its permutation, the stream's state, and a hash of what decides the steps (training_identity, the model's
// config.json and the tokenized training data). Resuming refuses a different hash, then continues as if never
// stopped: the losses, gradient norms and weights are bit-identical to an uninterrupted run's, because every
// kernel reduces in a fixed order (autograd/parallel.h) and no state lives outside the checkpoint.
//
// Out dir: run_config.json (the config with defaults filled in), metrics.jsonl (log_file), checkpoints/, and final/,
// the exported Hugging Face folder (with a `lora` section: the adapter alone, in peft's layout; docs/lora.md).
// metrics.jsonl holds one JSON object a line: {"type": "data"} (per file, the
// truncation report), {"type": "packing"} (with packing: PackingReport), {"type": "train", step, epoch, loss,
// learning_rate, grad_norm, tokens, trainable_tokens, tokens_per_s, elapsed_s}, {"type": "eval", step, epoch,
// eval_loss, eval_tokens, elapsed_s}, {"type": "checkpoint", step, path}, {"type": "resume", step, path} (Hugging
// Face Trainer's names; docs/metrics.md has the old ones). A resumed run first drops the lines after its
// checkpoint's step.
#include <cstdint>
#include <optional>
#include <string>

#include "autograd/tensor.h"
#include "model/gemma4.h"
#include "train/sft_config.h"
#include "train/sft_data.h"
#include "train/training_run.h"

namespace gt::train {

// resume, stop_after, stop_flag, time_limit_s (the held-out loss is taken where it stops) and progress, and:
using SftRunOptions = RunOptions;

struct SftResult : RunResult {
  double last_loss = 0;
  std::optional<double> heldout_loss;  // the latest one
};

SftResult run_sft(const SftConfig& config, const SftRunOptions& options = {});

// The sum of the cross-entropy over the trainable tokens of `batch` (one forward of the samples padded on the
// right) divided by `denominator` (their trainable count for the token mean). Only the positions that predict a trainable token go through the head, in chunks (Gemma4::head_loss), so
// no [T, vocab] logits tensor is made.
Tensor batch_loss(const Gemma4& model, const std::vector<const TokenizedSample*>& batch, const ForwardOptions& forward,
                  double denominator);
// The same over packed rows: each row's samples laid out one after the other (train/sft_packing.h), each attending
// only to itself with positions from 0, so every sample's logits are its own unpacked forward's. With one sample a
// row this is batch_loss, bit for bit.
Tensor packed_loss(const Gemma4& model, const std::vector<std::vector<const TokenizedSample*>>& rows,
                   const ForwardOptions& forward, double denominator);
// batch_loss of one sample.
Tensor sample_loss(const Gemma4& model, const TokenizedSample& s, const ForwardOptions& forward, double denominator);

// Mean cross-entropy per trainable token over `samples` (at most max_samples of them from the start; 0: all),
// without recording gradients. `tokens` receives the count.
double heldout_loss(const Gemma4& model, const std::vector<TokenizedSample>& samples, int64_t max_samples,
                    const ForwardOptions& forward, int64_t* tokens = nullptr);

}  // namespace gt::train
