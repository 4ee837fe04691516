// tokenizer.json: loaded, and when accepted, used: a text with special tokens, spaces and stray bytes encoded and
// decoded back.
#include "data/tokenizer.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gt::fuzz::expect_value_or_error([&] {
    const auto tok = gt::data::Tokenizer::from_json(gt::fuzz::as_text(data, size), "tokenizer.json");
    const auto ids = tok.encode("<bos>Hello  world\n\xff\xc3 caf\xc3\xa9 <eos>", true);
    (void)tok.decode(ids);
    (void)tok.decode(ids, true);
  });
  return 0;
}
