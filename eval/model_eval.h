#pragma once
// Evaluating a model folder on a sample file: generate every completion on the inference path, score it (§2, §3)
// and write the report; what `eval --model`, `demo` and the trainers' held-out evals share.
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "autograd/dtype.h"
#include "eval/model_source.h"
#include "eval/report.h"
#include "rl/reward.h"

namespace gt::eval {

struct ModelEval {
  std::string model_dir;  // a Hugging Face folder with its tokenizer.json
  std::string adapter_dir;  // optional: a LoRA adapter folder (peft's layout) applied on top of the model
  std::string data;       // samples with gold plans (JSON Lines)
  std::string out_dir;    // report.md, report.json, completions.jsonl
  ModelSourceOptions source;  // stop_ids are taken from the folder's generation_config.json
  rl::RewardWeights weights;
  std::ostream* progress = nullptr;  // progress lines (samples/s, tokens/s, ETA) and the load log; null: none
  Device device = Device::CPU;       // where the model generates
};

Report evaluate_model_dir(const ModelEval& e);

// An on_sample callback that writes "[label] done/total samples, samples/s, tokens/s, ETA" to `out`: redrawn in
// place on a terminal, else a line every 10 seconds and at the end (logs stay readable).
std::function<void(int64_t, int64_t)> progress_printer(std::ostream& out, int64_t total, std::string label);

}  // namespace gt::eval
