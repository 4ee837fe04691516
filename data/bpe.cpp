// BPE by merge rank over one pre-tokenized word, with byte fallback, unknown-token fusing and a per-thread cache.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>

#include "base/error.h"
#include "data/tokenizer_impl.h"
#include "data/utf8.h"

namespace gt::data::tok {

namespace {

constexpr std::string_view kWordStart = "\xE2\x96\x81";  // "▁"

inline uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Results of recent pieces, per thread, so encode stays const and lock-free. A slot holds the piece and its ids
// together, so a hit costs one memory access; 4-way sets with round-robin replacement keep frequent words in while
// rare ones come and go. It belongs to one model at a time (`owner`).
struct WordCache {
  static constexpr size_t kMaxKey = 58, kMaxIds = 16, kWays = 4, kSets = 1 << 13;  // 4 MiB a thread
  struct alignas(64) Slot {
    uint32_t tag;  // 0: empty
    uint8_t key_len, n_ids;
    char key[kMaxKey];
    int32_t ids[kMaxIds];
  };
  static_assert(sizeof(Slot) == 128);
  uint64_t owner = 0;
  std::vector<Slot> slots;
  std::vector<uint8_t> next_way;

  void reset(uint64_t model) {
    owner = model;
    slots.assign(kSets * kWays, Slot{});
    next_way.assign(kSets, 0);
  }
};

thread_local WordCache t_cache;

// A candidate merge of the pair (left, right) at `pos`, the position of `left`.
struct Candidate {
  uint64_t order;  // rank << 32 | pos: the smallest goes first, ties to the left
  int32_t left, right, merged;
  bool operator>(const Candidate& o) const { return order > o.order; }
};

// Recent merge-table lookups, absent pairs included. The table (16 MB for Gemma) misses the CPU caches on nearly
// every lookup, while the pairs that come up are few and repeat (letters, "▁" plus a letter, common suffixes).
class PairCache {
 public:
  static constexpr int kBits = 14;  // 256 KiB
  static constexpr uint64_t kNone = ~0ull;

  void reset() {
    key_.assign(size_t{1} << kBits, kNone);
    val_.assign(size_t{1} << kBits, kNone);
  }
  // True with the merge's (rank << 32 | merged) in v when it is cached; otherwise starts fetching it from `merges`.
  bool peek(uint64_t key, uint64_t& v, const U64Map& merges) const {
    size_t i = slot(key);
    if (key_[i] == key) {
      v = val_[i];
      return true;
    }
    merges.prefetch(key);
    return false;
  }
  bool find(uint64_t key, uint64_t& v, const U64Map& merges) {
    size_t i = slot(key);
    if (key_[i] != key) {
      key_[i] = key;
      val_[i] = merges.find(key, v) ? v : kNone;
    }
    v = val_[i];
    return v != kNone;
  }

 private:
  static size_t slot(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> (64 - kBits); }
  std::vector<uint64_t> key_, val_;
};

struct MergeScratch {
  uint64_t owner = 0;
  PairCache pairs;
  std::vector<int32_t> id, prev, next;
  std::vector<Candidate> heap;
  std::vector<uint64_t> keys;
};

thread_local MergeScratch t_scratch;

}  // namespace

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges) {
    if (int32_t id = find(word); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (!split_at_word_start) {
    encode_piece(word, out);
    return;
  }
  size_t start = 0;
  for (size_t p = word.find(kWordStart, 1); p != std::string_view::npos; p = word.find(kWordStart, p + 1)) {
    bool after_mark = p >= kWordStart.size() && word.compare(p - kWordStart.size(), kWordStart.size(), kWordStart) == 0;
    if (after_mark) continue;  // a run of "▁" stays whole
    bool crossed = std::any_of(crossings.begin(), crossings.end(), [&](const auto& c) {
      return p >= c.second && word.size() - (p - c.second) >= c.first.size() &&
             word.compare(p - c.second, c.first.size(), c.first) == 0;
    });
    if (crossed) continue;
    encode_piece(word.substr(start, p - start), out);
    start = p;
  }
  encode_piece(word.substr(start), out);
}

namespace {

// The cache key: the piece with each "▁" (3 bytes, and the commonest character: indentation is runs of it) as one
// byte 0xFE, and stray 0xFE/0xFF bytes escaped with 0xFF; neither byte occurs in UTF-8, so the map is one-to-one.
// Returns the key's length, or 0 when it exceeds WordCache::kMaxKey.
size_t cache_key(std::string_view piece, char* key) {
  size_t n = 0;
  for (size_t i = 0; i < piece.size(); ++i) {
    auto b = static_cast<unsigned char>(piece[i]);
    if (n + 2 > WordCache::kMaxKey + 1) return 0;
    if (b == 0xE2 && piece.compare(i, kWordStart.size(), kWordStart) == 0) {
      key[n++] = static_cast<char>(0xFE);
      i += kWordStart.size() - 1;
      continue;
    }
    if (b >= 0xFE) key[n++] = static_cast<char>(0xFF);
    key[n++] = static_cast<char>(b);
  }
  return n <= WordCache::kMaxKey ? n : 0;
}

}  // namespace

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  char key[WordCache::kMaxKey + 1];
  size_t key_len = cache_key(piece, key);
  if (key_len == 0) {
    merge(piece, out);
    return;
  }
  WordCache& c = t_cache;
  if (c.owner != serial) c.reset(serial);
  uint64_t h = hash_bytes({key, key_len});
  auto tag = static_cast<uint32_t>(h >> 32) | 1u;
  size_t set = h & (WordCache::kSets - 1);
  WordCache::Slot* ways = &c.slots[set * WordCache::kWays];
  for (size_t w = 0; w < WordCache::kWays; ++w) {
    const WordCache::Slot& s = ways[w];
    if (s.tag == tag && s.key_len == key_len && std::memcmp(s.key, key, key_len) == 0) {
      out.insert(out.end(), s.ids, s.ids + s.n_ids);
      return;
    }
  }
  size_t first = out.size();
  merge(piece, out);
  size_t n = out.size() - first;
  if (n > WordCache::kMaxIds) return;
  WordCache::Slot& s = ways[c.next_way[set]];
  c.next_way[set] = static_cast<uint8_t>((c.next_way[set] + 1) % WordCache::kWays);
  s.tag = tag;
  s.key_len = static_cast<uint8_t>(key_len);
  s.n_ids = static_cast<uint8_t>(n);
  std::memcpy(s.key, key, key_len);
  std::copy(out.begin() + static_cast<ptrdiff_t>(first), out.end(), s.ids);
}

void BpeModel::merge(std::string_view piece, std::vector<int32_t>& out) const {
  MergeScratch& s = t_scratch;
  std::vector<int32_t>& id = s.id;
  id.clear();

  // Initial symbols: one per character, or its bytes' <0xNN> tokens, or <unk>.
  int32_t pending_unk = -1;  // a run of unknown characters, emitted as one <unk> when fuse_unk
  for (size_t i = 0; i < piece.size();) {
    int32_t cp;
    size_t n = utf8_next(piece, i, cp);
    int32_t tok = -1;
    if (cp >= 0 && cp < 128) {
      tok = ascii_id[cp];
    } else if (cp >= 0) {
      uint64_t v;
      if (char_id.find(static_cast<uint64_t>(cp), v)) tok = static_cast<int32_t>(v);
    }
    if (tok >= 0) {
      if (pending_unk >= 0) id.push_back(pending_unk);
      pending_unk = -1;
      id.push_back(tok);
    } else if (byte_fallback &&
               std::all_of(piece.begin() + i, piece.begin() + i + n, [&](char b) { return byte_id[uint8_t(b)] >= 0; })) {
      // As in `tokenizers`, byte tokens do not end a pending <unk> run: they come out before it.
      for (size_t k = i; k < i + n; ++k) id.push_back(byte_id[static_cast<uint8_t>(piece[k])]);
    } else {
      if (unk_id < 0) {
        char msg[160];
        std::snprintf(msg, sizeof msg,
                      cp >= 0 ? "tokenizer: character U+%04X is not in the vocabulary, and the model has neither an "
                                "unk_token nor byte fallback for it"
                              : "tokenizer: byte 0x%02X is not valid UTF-8 here, and the model has neither an "
                                "unk_token nor byte fallback for it",
                      cp >= 0 ? static_cast<unsigned>(cp) : static_cast<unsigned>(static_cast<uint8_t>(piece[i])));
        throw Error(msg);
      }
      if (pending_unk >= 0 && !fuse_unk) id.push_back(pending_unk);
      pending_unk = unk_id;
    }
    i += n;
  }
  if (pending_unk >= 0) id.push_back(pending_unk);

  const size_t n = id.size();
  if (n > 1) {
    std::vector<int32_t>&prev = s.prev, &next = s.next;
    std::vector<Candidate>& heap = s.heap;
    prev.resize(n);
    next.resize(n);
    heap.clear();
    for (size_t i = 0; i < n; ++i) {
      prev[i] = static_cast<int32_t>(i) - 1;
      next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
    }
    if (s.owner != serial) {
      s.owner = serial;
      s.pairs.reset();
    }
    PairCache& pairs = s.pairs;
    // Start every lookup of the first round before using any, so that their memory waits overlap.
    std::vector<uint64_t>& keys = s.keys;
    keys.resize(n - 1);
    uint64_t v;
    for (size_t i = 0; i + 1 < n; ++i) {
      keys[i] = pair_key(id[i], id[i + 1]);
      pairs.peek(keys[i], v, merges);
    }
    auto candidate = [&](int32_t pos) {
      return Candidate{(v & ~0xFFFFFFFFull) | static_cast<uint32_t>(pos), id[pos], id[next[pos]],
                       static_cast<int32_t>(v & 0xFFFFFFFFu)};
    };
    for (size_t i = 0; i + 1 < n; ++i)
      if (pairs.find(keys[i], v, merges)) heap.push_back(candidate(static_cast<int32_t>(i)));
    std::greater<Candidate> later;
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      Candidate top = heap.back();
      heap.pop_back();
      auto i = static_cast<int32_t>(top.order & 0xFFFFFFFFu);
      int32_t j = next[i];
      // Entries go stale when a neighbour merged first; the pair at i must still be the one queued.
      if (id[i] != top.left || j < 0 || id[j] != top.right) continue;
      id[i] = top.merged;
      id[j] = -1;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      int32_t p = prev[i], q = next[i];
      uint64_t kp = p >= 0 ? pair_key(id[p], id[i]) : 0, kq = q >= 0 ? pair_key(id[i], id[q]) : 0;
      if (p >= 0) pairs.peek(kp, v, merges);
      if (q >= 0) pairs.peek(kq, v, merges);
      if (p >= 0 && pairs.find(kp, v, merges)) {
        heap.push_back(candidate(p));
        std::push_heap(heap.begin(), heap.end(), later);
      }
      if (q >= 0 && pairs.find(kq, v, merges)) {
        heap.push_back(candidate(i));
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
  }
  for (size_t i = 0; i < n; ++i)
    if (id[i] >= 0) out.push_back(id[i]);
}

}  // namespace gt::data::tok
