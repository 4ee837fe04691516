#include "eval/model_source.h"

#include "data/chat_format.h"
#include "model/generate.h"

namespace gt::eval {

CompletionSource model_completions(const Gemma4& model, const data::Tokenizer& tokenizer,
                                   const ModelSourceOptions& options) {
  auto done = std::make_shared<int64_t>(0);
  auto tokens = std::make_shared<int64_t>(0);
  return [&model, &tokenizer, options, done, tokens](const data::PlanSample& s) {
    const data::EncodedChat prompt =
        data::encode_chat(tokenizer, data::render_plan_sample(s, false), data::MaskRule::AllowEmpty, s.source);
    GenerateOptions g;
    g.max_new_tokens = options.max_new_tokens;
    g.sampling = options.sampling;
    g.stop_ids = options.stop_ids;
    g.vocab_limit = tokenizer.vocab_size();
    const Generation out = generate(model, std::vector<int64_t>(prompt.ids.begin(), prompt.ids.end()), g)[0];
    *tokens += static_cast<int64_t>(out.tokens.size());
    if (options.on_sample) options.on_sample(++*done, *tokens);
    const std::vector<int32_t> ids(out.tokens.begin(), out.tokens.end());
    return tokenizer.decode(ids, /*skip_special_tokens=*/false);
  };
}

}  // namespace gt::eval
