#pragma once
// SFT samples as token ids with their loss mask (data/chat_format.h), cut to max_length by the configured policy,
// with a report of what the cutting did.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "train/sft_config.h"

namespace gt::train {

struct TokenizedSample {
  std::string id;               // the sample's id (and where it was read from)
  std::vector<int32_t> ids;     // ids[0] is the one <bos>
  std::vector<uint8_t> mask;    // 1 on the trainable tokens
  int64_t first_trainable = 0;  // >= 1
  int64_t trainable = 0;        // tokens the loss counts
};

enum class CutResult : uint8_t { Fits, PromptCut, TargetCut, Dropped };

// Applies the truncation policy (sft_config.h) in place. Dropped means the caller must leave the sample out:
// the Drop policy on a long sample, or no trainable token left.
CutResult truncate_sample(std::vector<int32_t>& ids, std::vector<uint8_t>& mask, int64_t max_length, Truncation policy);

struct DataReport {
  std::string file;
  int64_t read = 0, kept = 0;
  int64_t prompt_cut = 0, target_cut = 0;  // kept, but shortened
  int64_t dropped_too_long = 0, dropped_no_target = 0;
  int64_t tokens = 0, trainable_tokens = 0, longest = 0;  // over kept samples, after cutting
  nlohmann::json to_json() const;
};

struct SftDataset {
  std::vector<TokenizedSample> samples;
  DataReport report;
  uint64_t fingerprint = 0;  // of every kept sample's ids and mask, in order
};

// Reads a JSON Lines file whose lines are plan samples (§1.1) or TRL's conversational and prompt-completion formats
// (data/trl_format.h, docs/data.md), told apart line by line; renders each with its target and tokenizes it (exactly
// one BOS, a non-empty loss mask: errors name the file and line), then cuts. Fails when no sample is left.
SftDataset load_sft_dataset(const std::string& path, const data::Tokenizer& tokenizer, int64_t max_length,
                            Truncation policy, const data::LineRendering& rendering = {});

}  // namespace gt::train
