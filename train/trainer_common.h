#pragma once
// Pieces every trainer (SFT, GRPO) builds its loop from: the starting model, the optimizer, the seeded epoch order,
// and the messages of a refused resume.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "model/gemma4.h"
#include "model/sampler.h"
#include "optim/optimizer.h"
#include "train/config_reader.h"

namespace gt::train {

// The stream id of the data order, apart from every sampler's streams.
inline constexpr uint64_t kShuffleStream = 0x53485546464c45ull;  // "SHUFFLE"

// Loads model.dir or initialises model.config randomly (float32 only); `config_path` names the file in errors,
// `tag` prefixes the load's log lines ("sft: ...").
Gemma4 build_model(const ModelSource& m, const std::string& config_path, const std::string& tag,
                   std::ostream* progress);
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c, std::vector<Tensor> params);
// The step size Adafactor's relative_step uses at step t (it has no lr of its own to log).
double relative_step_size(const AdafactorOptions& o, int64_t t);
// The lr of the step after `done` completed ones of `total`, set on the optimizer unless Adafactor's relative step
// chooses it; returned for the log.
double apply_lr(Optimizer& opt, const OptimizerConfig& c, ScheduleKind schedule, int64_t warmup, int64_t total,
                int64_t done);

// A Fisher-Yates permutation of 0..n-1 drawn from `rng`.
std::vector<int64_t> draw_permutation(Sampler& rng, int64_t n);
// True when `perm` is a permutation of 0..n-1 (a checkpoint's saved order is checked with it).
bool is_permutation_of(std::vector<int64_t> perm, int64_t n);

// "a, b, c and 4 more".
std::string join_names(const std::vector<std::string>& v, size_t limit);
// Where two identities differ ("optimizer/lr, seed"), for the message of a refused resume.
std::string identity_diff(const nlohmann::json& saved, const nlohmann::json& now);

}  // namespace gt::train
