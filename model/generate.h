#pragma once
// Generation on the inference path: one prefill of the prompt, its cache forked for every sample, then one
// decode step per new token for all samples at once.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/gemma4.h"
#include "model/sampler.h"

namespace gt {

struct GenerateOptions {
  int64_t max_new_tokens = 256;
  int64_t num_samples = 1;
  SamplingOptions sampling;  // sample s draws from stream s of sampling.seed
  // Only ids below this are drawn (as if the logits above were -inf): the tokenizer's size, when the model's
  // vocabulary is padded past what the tokenizer can decode. 0: the whole vocabulary.
  int64_t vocab_limit = 0;
  std::vector<int64_t> stop_ids = {1, 106, 50};  // <eos>, <turn|>, <|tool_response>
  // Called for every new token as it is chosen (streaming output); not called after a sample stopped.
  std::function<void(int64_t sample, int64_t token)> on_token;
};

struct Generation {
  std::vector<int64_t> tokens;  // new tokens, the stop token included when one ended the sample
  bool stopped = false;  // ended on a stop token (false: ran into max_new_tokens)
};

std::vector<Generation> generate(const Gemma4& model, const std::vector<int64_t>& prompt, const GenerateOptions& opt);

// generate's two forward steps, for callers that schedule sequences themselves (serve/): the prompt's pass, which
// fills `cache` and returns the last position's logits [1, 1, V], and one decode step of `next` ([B] ids, one per
// cache row), returning logits [B, 1, V]. Recording must be off (NoGradGuard).
Tensor prefill(const Gemma4& model, const std::vector<int64_t>& prompt, KVCache& cache);
Tensor decode_step(const Gemma4& model, const std::vector<int64_t>& next, KVCache& cache);

// Stop ids from DIR/generation_config.json ("eos_token_id": an id or a list); the Gemma 4 IT default
// {1, 106, 50} when the file is absent.
std::vector<int64_t> stop_ids_from(const std::string& model_dir);

// How a client reads generation_config.json's sampling keys (docs/generation.md).
//   Transformers (generate): "do_sample" false or absent is greedy whatever the other keys say; "do_sample" true
//     samples with "temperature" (default 1.0), "top_k" (default 50, transformers' default; 0 = off) and "top_p"
//     (default 1.0). Without the file: greedy, as transformers' default GenerationConfig.
//   Vllm (serve's request defaults): the keys present are the defaults, the OpenAI API's otherwise (temperature
//     1.0, no top-k or top-p limit), without the file too; "do_sample" false is greedy.
// A null reads as absent. Values of the wrong type or out of range are errors naming the file.
enum class SamplingRule { Transformers, Vllm };
SamplingOptions sampling_from(const std::string& model_dir, SamplingRule rule = SamplingRule::Transformers);

}  // namespace gt
