#pragma once
// Fingerprints of configs, data sets and token streams, stable across platforms and runs (unlike std::hash).
#include <cstddef>
#include <cstdint>
#include <string>

namespace gt {

// FNV-1a: a portable 64-bit fingerprint (not a security hash). Pass the previous result as `h` to continue a stream.
uint64_t fnv1a(const void* data, size_t n, uint64_t h = 0xcbf29ce484222325ull);
// h as 16 lowercase hex digits.
std::string hex64(uint64_t h);

}  // namespace gt
