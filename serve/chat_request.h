#pragma once
// A /v1/chat/completions request body, checked and turned into what the scheduler runs: the rendered prompt's ids
// and the sampling settings. Anything wrong is an ApiError naming the field (docs/serve.md lists what is read).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"
#include "model/sampler.h"

namespace gt::serve {

struct ServeLimits {
  int64_t max_body_bytes = 1 << 20;
  int64_t max_tokens = 4096;          // the most new tokens one request may ask for (and the default)
  int64_t max_concurrent = 32;        // requests admitted at once; more are answered 429
  int64_t max_prompt_tokens = 8192;   // the rendered prompt's length
};

struct ChatRequest {
  std::string model;  // empty: the base model
  std::vector<int64_t> prompt;
  SamplingOptions sampling;
  int64_t max_tokens = 0;
  std::vector<std::string> stop;  // strings that end the completion (not included in it)
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage: a last chunk with the token counts
  bool return_token_ids = false;  // vLLM's extension: the new ids beside the text, for exact comparisons
};

// `defaults` are the model folder's sampling settings (gt::sampling_from with SamplingRule::Vllm), used for the fields
// a request leaves out.
ChatRequest parse_chat_request(std::string_view body, const data::Tokenizer& tokenizer, const ServeLimits& limits,
                               const SamplingOptions& defaults);

}  // namespace gt::serve
