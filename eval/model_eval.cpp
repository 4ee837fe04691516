#include "eval/model_eval.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "base/error.h"
#include "data/plan_sample.h"
#include "data/tokenizer.h"
#include "eval/eval.h"
#include "model/generate.h"

namespace gt::eval {

namespace fs = std::filesystem;

std::function<void(int64_t, int64_t)> progress_printer(std::ostream& out, int64_t total, std::string label) {
  using Clock = std::chrono::steady_clock;
  const bool terminal = &out == &std::cerr && ::isatty(STDERR_FILENO);
  auto t0 = std::make_shared<Clock::time_point>(Clock::now());
  auto last = std::make_shared<Clock::time_point>(Clock::now());
  return [&out, total, label, terminal, t0, last](int64_t done, int64_t tokens) {
    const auto now = Clock::now();
    if (!terminal && done != total && now - *last < std::chrono::seconds(10)) return;
    *last = now;
    const double s = std::max(std::chrono::duration<double>(now - *t0).count(), 1e-9);
    const double rate = static_cast<double>(done) / s;
    char line[200];
    std::snprintf(line, sizeof line, "[%s] %lld/%lld samples  %.2f samples/s  %.1f tokens/s  ETA %.0fs", label.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total), rate, static_cast<double>(tokens) / s,
                  static_cast<double>(total - done) / std::max(rate, 1e-9));
    if (terminal)
      out << "\r" << line << "   " << (done == total ? "\n" : "") << std::flush;
    else
      out << line << std::endl;
  };
}

Report evaluate_model_dir(const ModelEval& e) {
  const auto samples = data::read_samples(e.data);
  LoadOptions lo;
  if (e.progress) lo.log = [out = e.progress](const std::string& m) { *out << m << "\n"; };
  Gemma4 model = Gemma4::load(e.model_dir, lo);
  if (!e.adapter_dir.empty()) model.set_adapter(LoraAdapter::load(e.adapter_dir, model));
  model.to(e.device);
  const fs::path tok_path = fs::path(e.model_dir) / "tokenizer.json";
  GT_CHECK(fs::exists(tok_path), e.model_dir, ": no tokenizer.json in the model directory");
  const auto tok = data::Tokenizer::from_file(tok_path);
  ModelSourceOptions mo = e.source;
  mo.stop_ids = stop_ids_from(e.model_dir);
  if (e.progress) mo.on_sample = progress_printer(*e.progress, static_cast<int64_t>(samples.size()), "eval");
  const auto results = score_samples(samples, model_completions(model, tok, mo), e.weights);
  Report report = summarize(results, e.weights);
  const SamplingOptions& sp = mo.sampling;
  report.inputs["data"] = e.data;
  report.inputs["model"] = e.model_dir;
  if (!e.adapter_dir.empty()) report.inputs["adapter"] = e.adapter_dir;
  report.inputs["sampling"] = "temperature " + std::to_string(sp.temperature) + ", top_k " + std::to_string(sp.top_k) +
                              ", top_p " + std::to_string(sp.top_p) + ", seed " + std::to_string(sp.seed) +
                              ", max_new_tokens " + std::to_string(mo.max_new_tokens);
  write_report(e.out_dir, report, results);
  return report;
}

}  // namespace gt::eval
