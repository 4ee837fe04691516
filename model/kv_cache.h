#pragma once
// The KV cache of the inference path (docs/model.md §2.5, §2.7).
//
// Only layers that compute their own keys and values have an entry (15 for E2B: 12 sliding, 3 full); a KV-shared
// layer reads its source layer's entry, exactly the keys and values the source attended over in the same pass.
// Entries keep absolute positions: `start` is the position of the entry's first key. A sliding layer's entry is
// trimmed after each pass to the window - 1 most recent keys, all the next token can see.
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace gt {

struct KVCache {
  struct Entry {
    Tensor k, v;  // f32 [B, S, Hkv, D]; undefined before the first pass and for KV-shared layers
    int64_t start = 0;  // absolute position of key 0
  };
  std::vector<Entry> layers;  // one per decoder layer
  int64_t length = 0;  // tokens seen: the absolute position of the next one

  int64_t batch() const;  // 0 before the first pass
  // Copies of a batch-1 cache, one per row: the G samples of one prompt share its prefill (docs/pitfalls.md item 8).
  KVCache fork(int64_t copies) const;
  // Number of layers holding keys (the physical caches).
  int64_t physical() const;
  // Bytes held by keys and values.
  int64_t bytes() const;
};

}  // namespace gt
