#include "train/trainer_common.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/error.h"
#include "optim/adafactor.h"
#include "optim/adamw.h"
#include "train/lr_schedule.h"

namespace gt::train {

using nlohmann::json;

Gemma4 build_model(const ModelSource& m, const std::string& config_path, const std::string& tag,
                   std::ostream* progress) {
  if (!m.dir.empty()) {
    LoadOptions lo;
    lo.storage = m.storage;
    lo.log = [progress, tag](const std::string& line) {
      if (progress) *progress << tag << ": " << line << "\n";
    };
    return Gemma4::load(m.dir, lo);
  }
  GT_CHECK(m.storage != StoragePolicy::BF16, config_path,
           ": 'model.storage' bf16 needs a checkpoint ('model.dir'); random initialisation is float32");
  return Gemma4::random(load_gemma4_config(m.config), m.init_seed, m.init_std);
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& c, std::vector<Tensor> params) {
  if (c.kind == OptimizerKind::AdamW) return std::make_unique<AdamW>(std::move(params), c.adamw);
  return std::make_unique<Adafactor>(std::move(params), c.adafactor);
}

double relative_step_size(const AdafactorOptions& o, int64_t t) {
  const double cap = o.warmup_init ? 1e-6 * static_cast<double>(t) : 1e-2;
  return std::min(cap, 1.0 / std::sqrt(static_cast<double>(t)));
}

double apply_lr(Optimizer& opt, const OptimizerConfig& c, ScheduleKind schedule, int64_t warmup, int64_t total,
                int64_t done) {
  if (c.kind == OptimizerKind::Adafactor && c.adafactor.relative_step) return relative_step_size(c.adafactor, done + 1);
  const double lr = c.lr() * lr_factor(schedule, warmup, total, done);
  opt.set_lr(lr);
  return lr;
}

std::vector<int64_t> draw_permutation(Sampler& rng, int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng.uniform() * static_cast<double>(i + 1));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

bool is_permutation_of(std::vector<int64_t> perm, int64_t n) {
  if (static_cast<int64_t>(perm.size()) != n) return false;
  std::sort(perm.begin(), perm.end());
  for (int64_t i = 0; i < n; ++i)
    if (perm[static_cast<size_t>(i)] != i) return false;
  return true;
}

std::string join_names(const std::vector<std::string>& v, size_t limit) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < limit; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > limit) s += " and " + std::to_string(v.size() - limit) + " more";
  return s;
}

std::string identity_diff(const json& saved, const json& now) {
  std::vector<std::string> paths;
  for (const json& op : json::diff(saved, now)) paths.push_back(op.value("path", "?").substr(1));
  return join_names(paths, 8);
}

}  // namespace gt::train
