#include "train/training_run.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "base/checksum.h"
#include "base/error.h"
#include "base/files.h"
#include "optim/adafactor.h"
#include "optim/adamw.h"
#include "train/gradients.h"
#include "train/lora_config.h"
#include "train/lr_schedule.h"
#include "train/metric_plots.h"

namespace gt::train {

namespace fs = std::filesystem;
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

TrainingRun::TrainingRun(std::string tag, const TrainerConfig& c, const RunOptions& o)
    : tag_(std::move(tag)),
      model_(build_model(c.model, c.path, tag_, o.progress)),
      tokenizer_(data::Tokenizer::from_file(c.tokenizer)),
      config_(c),
      o_(o),
      ckpts_((fs::path(c.out_dir) / "checkpoints").string(), c.keep_last) {
  GT_CHECK(tokenizer_.vocab_size() <= model_.config().vocab_size, c.tokenizer, ": ", tokenizer_.vocab_size(),
           " token ids do not fit the model's vocabulary of ", model_.config().vocab_size);
  if (c.lora) {
    model_.freeze();
    model_.set_adapter(LoraAdapter::create(model_, *c.lora, lora_init_seed(c.seed)));
  }
}

NamedParameters& TrainingRun::trained() { return model_.adapter() ? model_.adapter()->state() : model_.state(); }

std::optional<uint64_t> TrainingRun::lora_dropout(int64_t micro) const {
  if (!config_.lora || config_.lora->lora_dropout == 0) return std::nullopt;
  return lora_dropout_key(config_.seed, step_, micro);
}

void TrainingRun::init_optimizer() {
  params_ = trained().trainable();
  opt_ = make_optimizer(config_.optimizer_config(), params_);
}

void TrainingRun::set_identity(json identity, json train_data) {
  identity_ = std::move(identity);
  identity_["model_config"] = json::parse(model_.config().json.dump());  // key-sorted, so the hash is canonical
  identity_["train_data"] = std::move(train_data);
  const std::string text = identity_.dump();
  hash_ = hex64(fnv1a(text.data(), text.size()));
}

RunResult TrainingRun::run_loop(const json& config) {
  std::optional<int64_t> keep_through;
  if (o_.resume) {
    restore();
    keep_through = step_;
  } else {
    // Step files without `latest` are from a run killed before its first checkpoint was complete: nothing to
    // keep, and this run replaces them.
    GT_CHECK(!ckpts_.latest(), config_.out_dir, ": already holds checkpoints of a run (", ckpts_.dir(),
             "); pass --resume to continue it, or choose another out_dir");
    for (int64_t orphan : ckpts_.steps()) {
      fs::remove(ckpts_.path_for(orphan));
      say("removed " + ckpts_.path_for(orphan) + ", left by a run stopped before its first checkpoint was done");
    }
    make_streams();
    perm_ = draw_permutation(*shuffle_, data_size());
  }
  fs::create_directories(config_.out_dir);
  const std::string config_text = config.dump(2) + "\n";
  write_file_atomically((fs::path(config_.out_dir) / kRunConfigFile).string(),
                        [&](std::ostream& os) { os << config_text; });
  log_ = std::make_unique<MetricsLog>(config_.log_path(), keep_through);
  started_ = Clock::now();
  if (o_.resume) {
    record({{"type", "resume"}, {"step", step_}, {"path", *ckpts_.latest()}});
    say("resumed from " + *ckpts_.latest() + " at step " + std::to_string(step_) + " of " + std::to_string(total_));
  } else {
    announce();
    if (model_.adapter()) say(describe_adapter());
    if (has_heldout()) evaluate();
  }

  RunResult e;
  bool stopped = false;
  while (step_ < total_ && !stopped) {
    take_step();
    e.out_of_time = o_.time_limit_s > 0 && elapsed() >= o_.time_limit_s;
    const bool eval_due = config_.eval_every > 0 && step_ % config_.eval_every == 0;
    if (has_heldout() && (eval_due || step_ == total_ || e.out_of_time)) {
      evaluate();
      plot();
    }
    stopped = (o_.stop_after > 0 && step_ >= o_.stop_after) || (o_.stop_flag && o_.stop_flag->load()) || e.out_of_time;
    if ((config_.save_every > 0 && step_ % config_.save_every == 0) || step_ == total_ || stopped) save();
  }
  e.out_of_time = e.out_of_time && step_ < total_;
  const bool ended = step_ == total_;
  if (ended && last_saved_ != step_) save();
  if (ended || e.out_of_time) {
    e.final_dir = (fs::path(config_.out_dir) / "final").string();
    export_model(e.final_dir);
    say((ended ? std::string()
               : "out of time after step " + std::to_string(step_) + " of " + std::to_string(total_) + "; ") +
        "exported " + e.final_dir);
    e.finished = ended;
  } else {
    say("stopped after step " + std::to_string(step_) + "; continue with --resume");
  }
  plot();
  e.step = step_;
  e.total_steps = total_;
  e.last_checkpoint = last_path_;
  return e;
}

void TrainingRun::export_model(const std::string& dir) const {
  if (model_.adapter())
    export_adapter(model_, dir, config_.model.dir.empty() ? config_.model.config : config_.model.dir);
  else
    export_hf(model_, config_.tokenizer, dir, config_.model.dir);
}

std::vector<int64_t> TrainingRun::next_items(int64_t n) {
  next_epoch_if_done();
  const int64_t end = std::min(data_size(), pos_ + n);
  std::vector<int64_t> items(perm_.begin() + pos_, perm_.begin() + end);
  pos_ = end;
  return items;
}

void TrainingRun::finish_step(StepStats stats) {
  const GradNorm gn = grad_norm(params_);
  check_grad_norm(gn, stats);
  const double lr = update(gn.norm);
  ++step_;
  const auto done = Clock::now();
  const auto seconds = [&](Clock::time_point since) { return std::chrono::duration<double>(done - since).count(); };
  const double dt = seconds(stats.started);
  step_seconds_ += dt;
  ++steps_here_;
  json rec = std::move(stats.record);
  rec.update(
      {{"type", "train"}, {"step", step_}, {"epoch", epoch_float()}, {"learning_rate", lr}, {"grad_norm", gn.norm}});
  for (const StepStats::Rate& r : stats.rates)
    rec[r.key] = static_cast<double>(r.tokens) / std::max(seconds(r.since), 1e-9);
  rec["elapsed_s"] = elapsed();
  record(rec);
  window_tokens_ += stats.window_tokens;
  window_seconds_ += stats.window_seconds.value_or(dt);
  if (progress_due()) progress(rec);
}

void TrainingRun::check_grad_norm(const GradNorm& gn, const StepStats& s) const {
  const int64_t step = step_ + 1;
  const auto loss = s.record.find("loss");
  if (loss != s.record.end() && loss->is_number() && !std::isfinite(loss->get<double>()))
    fail(tag_, ": step ", step, ": the loss is ", loss->get<double>(), s.inputs);
  if (!std::isfinite(gn.norm))
    fail(tag_, ": step ", step, ": the gradient norm is ", gn.norm, s.about, "; non-finite gradients in ",
         join_names(gn.non_finite, 6), s.inputs);
  if (gn.norm == 0 && !s.zero_norm_expected)
    fail(tag_, ": step ", step, ": the gradient norm is 0", s.zero_why, ", so this step would train nothing", s.about,
         s.inputs);
}

double TrainingRun::update(double grad_norm) {
  if (config_.grad_clip > 0) {
    const double coef = config_.grad_clip / (grad_norm + 1e-6);
    if (coef < 1.0) scale_grads(params_, coef);
  }
  const double lr =
      apply_lr(*opt_, config_.optimizer_config(), config_.schedule, config_.warmup_for(total_), total_, step_);
  opt_->step();
  // The weights in memory are now unusable: stop before this step is counted, checkpointed or exported, so the
  // checkpoints keep the last finite state.
  if (!opt_->non_finite().empty())
    fail(tag_, ": step ", step_ + 1, ": the update (lr ", lr, ", gradient norm ", grad_norm,
         ") made weights non-finite in ", join_names(opt_->non_finite(), 6), "; nothing of this step is saved",
         last_path_.empty() ? std::string(" (no checkpoint yet)") : "; the last good checkpoint is " + last_path_);
  opt_->zero_grad();
  return lr;
}

std::string TrainingRun::describe_adapter() const {
  const LoraConfig& l = model_.adapter()->config();
  int64_t n = 0;
  for (const auto& [name, t] : model_.adapter()->state().items()) n += t.numel();
  std::ostringstream os;
  os << "LoRA r " << l.r << ", lora_alpha " << l.lora_alpha << " (scale " << l.scale() << "), dropout "
     << l.lora_dropout << ": " << model_.adapter()->state().size() / 2 << " adapted linears, " << n
     << " trainable parameters; the model's own are frozen";
  return os.str();
}

void TrainingRun::progress(const json& rec) {
  std::ostringstream os;
  os << "step " << step_ << "/" << total_ << " epoch " << std::fixed << std::setprecision(2) << epoch_float();
  describe_step(os, rec, static_cast<double>(window_tokens_) / std::max(window_seconds_, 1e-9));
  const double eta = step_seconds_ / static_cast<double>(steps_here_) * static_cast<double>(total_ - step_);
  os << " elapsed " << format_duration(elapsed()) << " ETA " << format_duration(eta);
  say(os.str());
  last_progress_ = Clock::now();
  window_tokens_ = 0;
  window_seconds_ = 0;
}

bool TrainingRun::progress_due() const {
  const double since = std::chrono::duration<double>(Clock::now() - last_progress_).count();
  return o_.progress && (step_ == 1 || step_ == total_ || steps_here_ == 1 || since >= config_.progress_every_s);
}

void TrainingRun::record(const json& rec) { log_->write(rec); }

void TrainingRun::plot() const {
  write_metric_plots(config_.log_path(), (fs::path(config_.out_dir) / "plots").string());
}

void TrainingRun::say(const std::string& line) const {
  if (o_.progress) *o_.progress << tag_ << ": " << line << std::endl;
}

double TrainingRun::elapsed() const {
  return elapsed_before_ + std::chrono::duration<double>(Clock::now() - started_).count();
}

double TrainingRun::epoch_float() const {
  return static_cast<double>(epoch_) + static_cast<double>(pos_) / static_cast<double>(data_size());
}

void TrainingRun::next_epoch_if_done() {
  if (pos_ != data_size()) return;
  ++epoch_;
  pos_ = 0;
  perm_ = draw_permutation(*shuffle_, data_size());
}

void TrainingRun::make_streams() {
  SamplingOptions so;
  so.seed = config_.seed;
  shuffle_ = std::make_unique<Sampler>(so, kShuffleStream);
  make_own_streams();
}

void TrainingRun::save() {
  TrainingState st;
  st.trainer = tag_;
  st.step = step_;
  st.config_hash = hash_;
  st.meta = {{"epoch", epoch_},        {"position", pos_},      {"rng", {{"shuffle", shuffle_->rng_state()}}},
             {"elapsed_s", elapsed()}, {"total_steps", total_}, {"identity", identity_}};
  st.extra = {{"permutation", Tensor::from_ids(perm_, {data_size()})}};
  add_state(st);
  st.model = trained().items();
  st.optimizer = opt_->state();
  last_path_ = ckpts_.save(st);
  last_saved_ = step_;
  record({{"type", "checkpoint"}, {"step", step_}, {"path", last_path_}});
  say("step " + std::to_string(step_) + " checkpoint " + last_path_);
}

void TrainingRun::restore() {
  const std::optional<std::string> latest = ckpts_.latest();
  GT_CHECK(latest, config_.out_dir, ": nothing to resume (no ", ckpts_.dir(), "/latest)");
  const std::string& file = *latest;
  const TrainingState st = read_training_state(file);
  if (st.format_version == 1)
    say(file + " is a version-1 training state, written without checksums: read unverified; its next checkpoint "
               "has them");
  GT_CHECK(st.trainer == tag_, file, ": written by the ", st.trainer, " trainer, not by ", tag_);
  if (st.config_hash != hash_)
    fail(file, ": written by a run with different settings or data (",
         identity_diff(st.meta.value("identity", json::object()), identity_), "); an exact resume needs the same ones");
  make_streams();
  try {
    const json& m = st.meta;
    epoch_ = m.at("epoch").get<int64_t>();
    pos_ = m.at("position").get<int64_t>();
    elapsed_before_ = m.at("elapsed_s").get<double>();
    shuffle_->set_rng_state(m.at("rng").at("shuffle").get<std::array<uint64_t, 4>>());
    restore_state(st, file);
  } catch (const json::exception& e) {
    fail(file, ": incomplete ", tag_, " state (", e.what(), ")");
  }
  perm_ = st.extra_tensor("permutation").to_ids();
  GT_CHECK(is_permutation_of(perm_, data_size()) && pos_ >= 0 && pos_ <= data_size() && epoch_ >= 0, file,
           ": its data position does not fit ", data_size(), " ", data_noun());
  load_model_tensors(trained(), st, file);
  try {
    opt_->load_state(st.optimizer);
  } catch (const Error& e) {
    fail(file, ": ", e.what());
  }
  step_ = st.step;
  last_saved_ = step_;
  last_path_ = file;
}

}  // namespace gt::train
