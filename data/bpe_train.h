#pragma once
// A BPE trainer that writes a Gemma-shaped tokenizer.json: Gemma's normalizer, pre-tokenizer, decoder and
// post-processor, byte fallback, the Gemma 4 special tokens at their Gemma ids, and merges learned from a corpus.
// Its purpose is the tiny default model (configs/tiny.json): a vocabulary of a few thousand entries, fitted to the
// plan samples, so a sample is a few hundred tokens and the model's embedding table stays small.
//
// Written here rather than taken from SentencePiece or Hugging Face `tokenizers`: those need Python (or a large
// C++ dependency) at run time, their output depends on their version and on thread scheduling details we do not
// control, and what we need is small: frequency-ordered merges over a few megabytes of text, in a format our
// loader (data/tokenizer.h) already reads.
//
// Layout of the ids:
//   0..106     Gemma's reserved slots with Gemma 4's names (<pad> 0, <eos> 1, <bos> 2, <|tool_response> 50,
//              <|turn> 105, <turn|> 106, ...), added tokens as in Gemma; the slots Gemma leaves unused keep Gemma 3's
//              <unusedN> names. Stop ids [1, 106, 50] and rendered chats therefore mean the same as with Gemma.
//   107        "\n", also Gemma's id.
//   108..363   the byte pieces <0x00>..<0xFF> (byte fallback for any character outside the alphabet).
//   364..      the alphabet: printable ASCII, then the corpus's other characters seen at least min_frequency times,
//              by count (descending), ties by code point; then one id per new merged piece, in merge order.
//
// Merges may span spaces and punctuation, but never join a digit to a non-digit, nor a newline to what follows it
// (bpe_train.cpp says why). Each merge takes the pair with the highest count; ties go to the smallest (left id,
// right id). Training is deterministic: the same corpus and options give the same bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "data/plan_sample.h"

namespace gt::data {

struct BpeTrainOptions {
  // Entries in the vocabulary, the reserved ids, bytes and alphabet included. Training stops early, with a smaller
  // vocabulary, when no pair is seen min_frequency times.
  int32_t vocab_size = 4096;
  int64_t min_frequency = 2;
};

struct BpeTrainResult {
  std::string json;  // the tokenizer.json text
  int32_t vocab_size = 0;
  int32_t alphabet = 0;  // characters with their own piece
  int64_t merges = 0;
};

// Throws TokenizerError when vocab_size is too small to hold the reserved ids, bytes and alphabet.
BpeTrainResult train_bpe(const std::vector<std::string>& corpus, const BpeTrainOptions& options = {});

// What the tokenizer learns from: each sample rendered in full (prompt and target) as the model sees it in SFT.
std::vector<std::string> plan_sample_texts(const std::vector<PlanSample>& samples);

}  // namespace gt::data
