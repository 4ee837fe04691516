#include "model/kv_cache.h"

#include "autograd/autograd.h"
#include "base/error.h"

namespace gt {

int64_t KVCache::batch() const {
  for (const Entry& e : layers)
    if (e.k.defined()) return e.k.size(0);
  return 0;
}

KVCache KVCache::fork(int64_t copies) const {
  GT_CHECK(copies >= 1, "KVCache::fork: need at least one copy, got ", copies);
  GT_CHECK(batch() <= 1, "KVCache::fork: only a batch-1 cache can be forked, this one has ", batch(), " rows");
  NoGradGuard ng;
  KVCache out = *this;
  for (Entry& e : out.layers) {
    if (!e.k.defined()) continue;
    Shape s = e.k.shape();
    s[0] = copies;
    e.k = e.k.expand(s).contiguous();
    s = e.v.shape();
    s[0] = copies;
    e.v = e.v.expand(s).contiguous();
  }
  return out;
}

int64_t KVCache::physical() const {
  int64_t n = 0;
  for (const Entry& e : layers) n += e.k.defined();
  return n;
}

int64_t KVCache::bytes() const {
  int64_t n = 0;
  for (const Entry& e : layers)
    if (e.k.defined()) n += (e.k.numel() + e.v.numel()) * 4;
  return n;
}

}  // namespace gt
