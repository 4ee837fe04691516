// A safetensors file (header length, JSON header, data): opened as Gemma4::load opens a shard, then every tensor read.
#include "autograd/tensor.h"
#include "fuzz/fuzz_support.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = gt::fuzz::write_scratch("model.safetensors", gt::fuzz::as_text(data, size)).string();
  gt::fuzz::expect_value_or_error([&] {
    const gt::SafetensorsFile f = gt::SafetensorsFile::open(path);
    for (const auto& e : f.entries()) (void)f.get(e.name).numel();
  });
  return 0;
}
