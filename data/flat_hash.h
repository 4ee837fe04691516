#pragma once
// Open-addressing hash tables for the tokenizer's hot paths. The standard node-based maps cost an allocation per
// entry (slow to build for 262k tokens and 515k merges) and a pointer chase per lookup (slow in the BPE loop).
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace gt::data::tok {

__extension__ typedef unsigned __int128 u128;

inline uint64_t mix(uint64_t a, uint64_t b) {
  u128 r = static_cast<u128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline uint64_t hash_bytes(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xA0761D6478BD642Full);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = mix(h ^ v, 0xE7037ED1A0B428DBull);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = mix(h ^ v, 0x8EBC6AF09C88C6E3ull);
  }
  return mix(h, 0x589965CC75374CC3ull);
}

inline uint64_t hash_u64(uint64_t k) { return mix(k ^ 0x2D358DCCAA6C78A5ull, 0x8BB84B93962EACC9ull); }

// Linear probing stays short up to about 2/3 full; a smaller table keeps more of it in cache.
inline size_t table_size_for(size_t n) { return std::bit_ceil(n + n / 2 + 16); }

// uint64 -> uint64, keys never equal to kEmpty. Insert overwrites. Key and value share a cache line.
class U64Map {
 public:
  static constexpr uint64_t kEmpty = ~0ull;

  void reserve(size_t n) {
    slots_.assign(table_size_for(n), Entry{kEmpty, 0});
    mask_ = slots_.size() - 1;
    size_ = 0;
  }
  void insert(uint64_t key, uint64_t val) {
    if (slots_.empty() || (size_ + 1) * 3 > slots_.size() * 2) grow();
    size_t i = hash_u64(key) & mask_;
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    if (slots_[i].key == kEmpty) ++size_;
    slots_[i] = Entry{key, val};
  }
  // Returns false when absent.
  bool find(uint64_t key, uint64_t& val) const {
    if (slots_.empty()) return false;
    for (size_t i = hash_u64(key) & mask_;; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.key == key) {
        val = e.val;
        return true;
      }
      if (e.key == kEmpty) return false;
    }
  }
  void prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash_u64(key) & mask_]);
  }
  size_t size() const { return size_; }

 private:
  struct Entry {
    uint64_t key, val;
  };
  void grow() {
    std::vector<Entry> old = std::move(slots_);
    reserve(std::max<size_t>(size_ * 2, 64));
    for (const Entry& e : old)
      if (e.key != kEmpty) insert(e.key, e.val);
  }
  std::vector<Entry> slots_;
  size_t mask_ = 0, size_ = 0;
};

// string -> int32 for strings that live in one arena (the token table's text), passed to each call because the
// arena may grow between calls. Slots hold the string's place, so a lookup touches one slot and the text once.
class StringIdMap {
 public:
  void reserve(size_t n) {
    slots_.assign(table_size_for(n), Slot{});
    mask_ = slots_.size() - 1;
  }
  // Adds id -> arena[off, off+len) and returns -1, or returns the id already stored under that text. No growth:
  // reserve() the final count first.
  int32_t insert(int32_t id, uint32_t off, uint32_t len, std::string_view arena) {
    std::string_view s = arena.substr(off, len);
    uint64_t h = hash_bytes(s);
    size_t i = h & mask_;
    for (; slots_[i].id >= 0; i = (i + 1) & mask_)
      if (matches(slots_[i], h, s, arena)) return slots_[i].id;
    slots_[i] = Slot{static_cast<uint32_t>(h >> 32), id, off, len};
    return -1;
  }
  int32_t find(std::string_view s, std::string_view arena) const { return find(s, hash_bytes(s), arena); }
  int32_t find(std::string_view s, uint64_t h, std::string_view arena) const {
    if (slots_.empty()) return -1;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id < 0) return -1;
      if (matches(slot, h, s, arena)) return slot.id;
    }
  }
  // For batched lookups: bring in the slot of a hash, then (once it is in) the text it points at, so that many
  // lookups wait for memory at once rather than one after another.
  void prefetch_slot(uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }
  void prefetch_text(uint64_t h, std::string_view arena) const {
    const Slot& slot = slots_[h & mask_];
    if (slot.id >= 0) __builtin_prefetch(arena.data() + slot.off);
  }

 private:
  struct Slot {
    uint32_t tag = 0;
    int32_t id = -1;
    uint32_t off = 0, len = 0;
  };
  static bool matches(const Slot& slot, uint64_t h, std::string_view s, std::string_view arena) {
    return slot.tag == static_cast<uint32_t>(h >> 32) && slot.len == s.size() &&
           std::memcmp(arena.data() + slot.off, s.data(), s.size()) == 0;
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace gt::data::tok
