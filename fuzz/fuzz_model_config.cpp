// A Hugging Face config.json, read the way Gemma4::load reads it.
#include "fuzz/fuzz_support.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = gt::fuzz::write_scratch("config.json", gt::fuzz::as_text(data, size)).string();
  gt::fuzz::expect_value_or_error([&] { (void)gt::load_gemma4_config(path); });
  return 0;
}
