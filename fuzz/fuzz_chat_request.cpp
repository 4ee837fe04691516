// serve's request parser (the body of POST /v1/chat/completions, from any client on the network): a request is
// accepted, or refused with an ApiError whose status is a 4xx. Anything else escaping, or a 5xx, is a finding: the
// server would answer a client's mistake as its own failure.
#include <cstdlib>

#include "data/tokenizer.h"
#include "fuzz/fuzz_support.h"
#include "serve/api_error.h"
#include "serve/chat_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const gt::data::Tokenizer tokenizer = gt::data::Tokenizer::from_file(GT_FIXTURES "/tokenizer/tiny.json");
  gt::serve::ServeLimits limits;
  limits.max_prompt_tokens = 4096;
  try {
    (void)gt::serve::parse_chat_request(gt::fuzz::as_text(data, size), tokenizer, limits, {});
  } catch (const gt::serve::ApiError& e) {
    if (e.status < 400 || e.status >= 500) std::abort();
  }
  return 0;
}
