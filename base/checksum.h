#pragma once
// Fingerprints of configs, data sets and token streams, stable across platforms and runs (unlike std::hash), and
// the checksum that guards what training states store.
#include <cstddef>
#include <cstdint>
#include <string>

namespace gt {

// FNV-1a: a portable 64-bit fingerprint (not a security hash). Pass the previous result as `h` to continue a stream.
uint64_t fnv1a(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull);
// h as 16 lowercase hex digits.
std::string hex64(uint64_t h);

// CRC-32C (Castagnoli, the iSCSI/ext4 polynomial): "123456789" gives 0xE3069283. Computed with the SSE4.2 crc32
// instruction where the build targets it (x86-64-v3 does), at several GB/s, which fnv1a's byte-at-a-time multiply
// cannot reach on multi-GB checkpoints; a table-driven fallback gives the same values elsewhere. Pass the previous
// result as `crc` to continue a stream.
uint32_t crc32c(const void* data, size_t n, uint32_t crc = 0);
// The fallback, exposed so that tests compare both paths.
uint32_t crc32c_portable(const void* data, size_t n, uint32_t crc = 0);

}  // namespace gt
