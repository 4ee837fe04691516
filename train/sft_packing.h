#pragma once
// Packing (TRL's `packing: true`, packing_strategy "bfd"): SFT samples placed whole into sequences of at most
// max_length tokens. Each sample keeps its one BOS, its loss mask and positions that restart at 0; its tokens
// attend only within the sample (segment ids, ops.h: AttentionOptions), so it is computed as if alone
// (docs/config.md, Packing).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/sft_data.h"

namespace gt::train {

// The samples of one sequence, as indices into the dataset, in the order they are laid out.
struct PackedSequence {
  std::vector<int64_t> samples;
  int64_t tokens = 0;
};

// Best-fit decreasing: samples by length, longest first (ties in dataset order), each into the open sequence whose
// free room is the smallest that holds it (the earliest such sequence on a tie), else into a new one. Deterministic;
// never cuts a sample (none is longer than max_length after truncation). Sequences come in the order they opened.
std::vector<PackedSequence> pack_bfd(const std::vector<TokenizedSample>& samples, int64_t max_length);

// One sequence per sample, the layout without packing.
std::vector<PackedSequence> one_per_sequence(const std::vector<TokenizedSample>& samples);

// What packing saved: forwards (sequences) and the padding of sequences padded to max_length (the fixed shape a
// padded batch may take; at batch_size 1 neither layout pads).
struct PackingReport {
  int64_t samples = 0, sequences = 0, tokens = 0, max_length = 0;
  int64_t padding_unpacked() const { return samples * max_length - tokens; }
  int64_t padding_packed() const { return sequences * max_length - tokens; }
  nlohmann::json to_json() const;
  std::string describe() const;
};
PackingReport packing_report(const std::vector<PackedSequence>& sequences, int64_t samples, int64_t max_length);

}  // namespace gt::train
