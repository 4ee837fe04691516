#include "research/heldout.h"

#include <chrono>
#include <cstdio>

#include "base/error.h"
#include "eval/model_source.h"
#include "model/gemma4.h"
#include "model/generate.h"
#include "research/trial_data.h"

namespace gt::research {

namespace fs = std::filesystem;

HeldoutScorer::HeldoutScorer(const EvalSettings& s) : s_(s) {
  samples_ = data::read_samples(s.data);
  for (const data::PlanSample& x : samples_) requests_.insert(request_of(x));
  if (s.max_samples > 0 && static_cast<std::size_t>(s.max_samples) < samples_.size())
    samples_.resize(static_cast<std::size_t>(s.max_samples));
  if (!s.weights.empty()) weights_ = rl::RewardWeights::load(s.weights);
}

eval::Report HeldoutScorer::score(const fs::path& model_dir, const fs::path& out_dir, std::ostream* progress,
                                  const std::atomic<bool>* stop) const {
  const Gemma4 model = Gemma4::load(model_dir.string());
  const fs::path tok_path = model_dir / "tokenizer.json";
  GT_CHECK(fs::exists(tok_path), model_dir.string(), ": no tokenizer.json in the model directory");
  const data::Tokenizer tok = data::Tokenizer::from_file(tok_path);
  eval::ModelSourceOptions mo;
  mo.max_new_tokens = s_.max_new_tokens;
  mo.stop_ids = stop_ids_from(model_dir.string());
  int64_t tokens = 0;
  mo.on_sample = [&](int64_t, int64_t t) { tokens = t; };
  const eval::CompletionSource generate = eval::model_completions(model, tok, mo);
  const auto t0 = std::chrono::steady_clock::now();
  const auto results = eval::score_samples(
      samples_,
      [&](const data::PlanSample& x) {
        if (stop && stop->load()) fail("research: interrupted during the held-out eval");
        return generate(x);
      },
      weights_);
  eval::Report report = eval::summarize(results, weights_);
  report.inputs = {{"data", s_.data},
                   {"model", model_dir.string()},
                   {"samples", samples_.size()},
                   {"max_new_tokens", s_.max_new_tokens},
                   {"sampling", "greedy"}};
  eval::write_report(out_dir, report, results);
  if (progress) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char line[160];
    std::snprintf(line, sizeof line, "research: held-out eval: %zu samples in %.1f s (%.1f tokens/s), Mean %.4f\n",
                  samples_.size(), s, static_cast<double>(tokens) / std::max(s, 1e-9), report.overall.mean);
    *progress << line << std::flush;
  }
  return report;
}

}  // namespace gt::research
