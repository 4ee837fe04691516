#include "train/sft.h"

#include <algorithm>
#include <limits>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <numeric>
#include <sstream>

#include "autograd/atomic_file.h"
#include "autograd/error.h"
#include "autograd/ops.h"
#include "model/sampler.h"
#include "train/checkpoint.h"
#include "train/gradients.h"
#include "train/run_log.h"
#include "train/trainer_common.h"

namespace gt::train {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

Tensor batch_loss(const Gemma4& model, const std::vector<const TokenizedSample*>& batch, const ForwardOptions& forward,
                  double denominator) {
  GT_CHECK(!batch.empty(), "sft: empty batch");
  int64_t T = 0, from = std::numeric_limits<int64_t>::max(), trainable = 0;
  for (const TokenizedSample* s : batch) {
    const int64_t n = static_cast<int64_t>(s->ids.size());
    GT_CHECK(s->first_trainable >= 1 && s->first_trainable < n && s->trainable > 0, "sft: sample ", s->id,
             " has no trainable token after position 0");
    T = std::max(T, n);
    // Position t predicts token t + 1: the positions from first_trainable - 1 on are the only ones with a label.
    from = std::min(from, s->first_trainable - 1);
    trainable += s->trainable;
  }
  // Rows are padded on the right: under the causal mask no real token sees a pad, so the rows need no attention
  // mask, and pads carry no label.
  const int64_t B = static_cast<int64_t>(batch.size());
  std::vector<int64_t> ids(static_cast<size_t>(B * T), model.config().pad_token_id);
  std::vector<int64_t> labels(static_cast<size_t>(B * (T - from)), -100);
  for (int64_t b = 0; b < B; ++b) {
    const TokenizedSample& s = *batch[static_cast<size_t>(b)];
    const int64_t n = static_cast<int64_t>(s.ids.size());
    std::copy(s.ids.begin(), s.ids.end(), ids.begin() + b * T);
    for (int64_t t = from; t < n; ++t)
      if (s.mask[static_cast<size_t>(t)]) labels[static_cast<size_t>(b * (T - from) + t - from)] = s.ids[static_cast<size_t>(t)];
  }
  const Tensor hidden = model.hidden_states(Tensor::from_ids(ids, {B, T}), forward);
  const Tensor mean = model.head_loss(hidden.slice(1, from, T), Tensor::from_ids(labels, {B, T - from}));
  const double count = static_cast<double>(trainable);
  return denominator == count ? mean : scale(mean, count / denominator);
}

Tensor sample_loss(const Gemma4& model, const TokenizedSample& s, const ForwardOptions& forward, double denominator) {
  return batch_loss(model, {&s}, forward, denominator);
}

double heldout_loss(const Gemma4& model, const std::vector<TokenizedSample>& samples, int64_t max_samples,
                    const ForwardOptions& forward, int64_t* tokens) {
  NoGradGuard no_grad;
  const size_t n = max_samples > 0 ? std::min(samples.size(), static_cast<size_t>(max_samples)) : samples.size();
  double sum = 0;
  int64_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    sum += static_cast<double>(sample_loss(model, samples[i], forward, 1.0).item());
    count += samples[i].trainable;
  }
  if (tokens) *tokens = count;
  return count ? sum / static_cast<double>(count) : 0.0;
}

namespace {

class Trainer {
 public:
  Trainer(const SftConfig& c, const SftRunOptions& o)
      : c_(c),
        o_(o),
        model_(build_model(c.model, c.path, "sft", o.progress)),
        tokenizer_(data::Tokenizer::from_file(c.tokenizer)),
        ckpts_((fs::path(c.out_dir) / "checkpoints").string(), c.keep_last) {
    train_ = load_sft_dataset(c.train_data, tokenizer_, c.max_length, c.truncation);
    if (!c.heldout_data.empty()) heldout_ = load_sft_dataset(c.heldout_data, tokenizer_, c.max_length, c.truncation);
    GT_CHECK(tokenizer_.vocab_size() <= model_.config().vocab_size, c.tokenizer, ": ", tokenizer_.vocab_size(),
             " token ids do not fit the model's vocabulary of ", model_.config().vocab_size);
    if (o.device != Device::CPU) model_.to(o.device);
    params_ = model_.state().trainable();
    opt_ = make_optimizer(c.optimizer_config(), params_);
    const int64_t n = static_cast<int64_t>(train_.samples.size());
    const int64_t per_step = c.batch_size * c.grad_accumulation;
    const int64_t per_epoch = (n + per_step - 1) / per_step;
    total_ = per_epoch * c.epochs;
    if (c.max_steps > 0) total_ = std::min(total_, c.max_steps);
    identity_ = training_identity(c);
    identity_["model_config"] = json::parse(model_.config().json.dump());  // key-sorted, so the hash is canonical
    identity_["train_data"] = {{"samples", n}, {"fingerprint", hex64(train_.fingerprint)}};
    const std::string text = identity_.dump();
    hash_ = hex64(fnv1a(text.data(), text.size()));
    forward_.checkpoint_layers = c.checkpoint_layers;
  }

  SftResult run() {
    std::optional<int64_t> keep_through;
    if (o_.resume) {
      restore();
      keep_through = step_;
    } else {
      // Step files without `latest` are from a run killed before its first checkpoint was complete: nothing to
      // keep, and this run replaces them.
      GT_CHECK(!ckpts_.latest(), c_.out_dir, ": already holds checkpoints of a run (", ckpts_.dir(),
               "); pass --resume to continue it, or choose another out_dir");
      for (int64_t orphan : ckpts_.steps()) {
        fs::remove(ckpts_.path_for(orphan));
        say("removed " + ckpts_.path_for(orphan) + ", left by a run stopped before its first checkpoint was done");
      }
      SamplingOptions so;
      so.seed = c_.seed;
      rng_ = std::make_unique<Sampler>(so, kShuffleStream);
      perm_ = draw_permutation(*rng_, samples());
    }
    fs::create_directories(c_.out_dir);
    const std::string config_text = to_json(c_).dump(2) + "\n";
    write_file_atomically((fs::path(c_.out_dir) / "config.json").string(),
                          [&](std::ostream& os) { os << config_text; });
    log_ = std::make_unique<MetricsLog>(c_.log_path(), keep_through);
    started_ = Clock::now();
    if (o_.resume) {
      log_->write({{"type", "resume"}, {"step", step_}, {"path", *ckpts_.latest()}});
      say("resumed from " + *ckpts_.latest() + " at step " + std::to_string(step_) + " of " + std::to_string(total_));
    } else {
      report_data("train", train_.report);
      if (heldout_) report_data("heldout", heldout_->report);
      say(std::to_string(total_) + " steps (" + std::to_string(samples()) + " samples, " + std::to_string(c_.epochs) +
          " epochs, batch_size " + std::to_string(c_.batch_size) +
          ", grad_accumulation " + std::to_string(c_.grad_accumulation) + ")");
      if (heldout_) evaluate();
    }

    SftResult r;
    r.total_steps = total_;
    bool stopped = false;
    while (step_ < total_ && !stopped) {
      r.last_loss = train_step();
      r.out_of_time = o_.time_limit_s > 0 && elapsed() >= o_.time_limit_s;
      const bool eval_due = c_.eval_every > 0 && step_ % c_.eval_every == 0;
      if (heldout_ && (eval_due || step_ == total_ || r.out_of_time)) r.heldout_loss = evaluate();
      stopped =
          (o_.stop_after > 0 && step_ >= o_.stop_after) || (o_.stop_flag && o_.stop_flag->load()) || r.out_of_time;
      if ((c_.save_every > 0 && step_ % c_.save_every == 0) || step_ == total_ || stopped) save();
    }
    r.out_of_time = r.out_of_time && step_ < total_;
    const bool ended = step_ == total_;
    if (ended && last_saved_ != step_) save();
    if (ended || r.out_of_time) {
      const std::string final_dir = (fs::path(c_.out_dir) / "final").string();
      export_hf(model_, c_.tokenizer, final_dir, c_.model.dir);
      say((ended ? std::string()
                 : "out of time after step " + std::to_string(step_) + " of " + std::to_string(total_) + "; ") +
          "exported " + final_dir);
      r.finished = ended;
    } else {
      say("stopped after step " + std::to_string(step_) + "; continue with --resume");
    }
    r.step = step_;
    r.last_checkpoint = last_path_;
    if (!r.heldout_loss) r.heldout_loss = last_heldout_;
    return r;
  }

 private:
  int64_t samples() const { return static_cast<int64_t>(train_.samples.size()); }

  void say(const std::string& line) const {
    if (o_.progress) *o_.progress << "sft: " << line << std::endl;
  }

  double elapsed() const { return elapsed_before_ + std::chrono::duration<double>(Clock::now() - started_).count(); }
  double epoch_float() const {
    return static_cast<double>(epoch_) + static_cast<double>(pos_) / static_cast<double>(samples());
  }

  void report_data(const char* which, const DataReport& d) {
    json j = d.to_json();
    j["type"] = "data";
    j["set"] = which;
    j["step"] = 0;
    log_->write(j);
    std::ostringstream os;
    os << which << " data " << d.file << ": " << d.kept << " of " << d.read << " samples kept, " << d.prompt_cut
       << " with the prompt cut, " << d.target_cut << " with the target cut, "
       << d.dropped_too_long + d.dropped_no_target << " dropped (max_length " << c_.max_length << ", "
       << truncation_name(c_.truncation) << "); " << d.trainable_tokens << " trainable of " << d.tokens
       << " tokens, longest " << d.longest;
    say(os.str());
  }

  double train_step() {
    if (pos_ == samples()) {
      ++epoch_;
      pos_ = 0;
      perm_ = draw_permutation(*rng_, samples());
    }
    const auto t0 = Clock::now();
    const int64_t end = std::min(samples(), pos_ + c_.batch_size * c_.grad_accumulation);
    double denominator = 0;
    int64_t tokens = 0;
    std::vector<const TokenizedSample*> step_samples;
    std::vector<std::string> ids;
    for (int64_t k = pos_; k < end; ++k) {
      const TokenizedSample& s = train_.samples[static_cast<size_t>(perm_[static_cast<size_t>(k)])];
      denominator += static_cast<double>(s.trainable);
      tokens += static_cast<int64_t>(s.ids.size());
      step_samples.push_back(&s);
      ids.push_back(s.id);
    }
    const int64_t step = step_ + 1;
    double loss = 0;
    for (size_t k = 0; k < step_samples.size(); k += static_cast<size_t>(c_.batch_size)) {
      const std::vector<const TokenizedSample*> micro(
          step_samples.begin() + static_cast<std::ptrdiff_t>(k),
          step_samples.begin() + static_cast<std::ptrdiff_t>(std::min(step_samples.size(), k + static_cast<size_t>(c_.batch_size))));
      const Tensor l = batch_loss(model_, micro, forward_, denominator);
      const double v = l.item();
      if (!std::isfinite(v)) {
        std::string where;
        for (const TokenizedSample* s : micro)
          if (where.empty())
            where = probe_non_finite(model_, Tensor::from_ids(std::vector<int64_t>(s->ids.begin(), s->ids.end()),
                                                              {1, static_cast<int64_t>(s->ids.size())}));
        std::vector<std::string> micro_ids;
        for (const TokenizedSample* s : micro) micro_ids.push_back(s->id);
        fail("sft: step ", step, ": the loss of ", join_names(micro_ids, 4), " is ", v,
             where.empty() ? std::string("; the forward is finite, so the head's loss overflowed")
                           : "; the first non-finite value is in " + where);
      }
      loss += v;
      l.backward();
    }
    const GradNorm gn = grad_norm(params_);
    if (!std::isfinite(gn.norm))
      fail("sft: step ", step, ": the gradient norm is ", gn.norm, " (loss ", loss, "); non-finite gradients in ",
           join_names(gn.non_finite, 6), "; samples ", join_names(ids, 4));
    if (gn.norm == 0)
      fail("sft: step ", step, ": the gradient norm is 0, so this step would train nothing (loss ", loss, "); samples ",
           join_names(ids, 4));
    if (c_.grad_clip > 0) {
      const double coef = c_.grad_clip / (gn.norm + 1e-6);
      if (coef < 1.0) scale_grads(params_, coef);
    }
    const double lr = apply_lr(*opt_, c_.optimizer_config(), c_.schedule, c_.warmup_steps, total_, step_);
    opt_->step();
    opt_->zero_grad();
    step_ = step;
    pos_ = end;

    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    train_seconds_ += dt;
    ++steps_here_;
    const double rate = static_cast<double>(tokens) / std::max(dt, 1e-9);
    log_->write({{"type", "train"},
                 {"step", step_},
                 {"epoch", epoch_float()},
                 {"loss", loss},
                 {"lr", lr},
                 {"grad_norm", gn.norm},
                 {"tokens", tokens},
                 {"trainable_tokens", static_cast<int64_t>(denominator)},
                 {"tokens_per_s", rate},
                 {"elapsed_s", elapsed()}});
    window_tokens_ += tokens;
    window_seconds_ += dt;
    const double since = std::chrono::duration<double>(Clock::now() - last_progress_).count();
    if (o_.progress && (step_ == 1 || step_ == total_ || steps_here_ == 1 || since >= c_.progress_every_s)) {
      const double eta = train_seconds_ / static_cast<double>(steps_here_) * static_cast<double>(total_ - step_);
      std::ostringstream os;
      os << "step " << step_ << "/" << total_ << " epoch " << std::fixed << std::setprecision(2) << epoch_float() << "/"
         << c_.epochs << " loss " << std::setprecision(4) << loss << " lr " << std::scientific << std::setprecision(2)
         << lr << " |g| " << std::fixed << std::setprecision(3) << gn.norm << " " << std::setprecision(0)
         << window_tokens_ / std::max(window_seconds_, 1e-9) << " tok/s elapsed " << format_duration(elapsed())
         << " ETA " << format_duration(eta);
      say(os.str());
      last_progress_ = Clock::now();
      window_tokens_ = 0;
      window_seconds_ = 0;
    }
    return loss;
  }

  double evaluate() {
    int64_t tokens = 0;
    const double loss = heldout_loss(model_, heldout_->samples, c_.eval_max_samples, forward_, &tokens);
    log_->write({{"type", "eval"},
                 {"step", step_},
                 {"epoch", epoch_float()},
                 {"heldout_loss", loss},
                 {"heldout_tokens", tokens},
                 {"elapsed_s", elapsed()}});
    std::ostringstream os;
    os << "step " << step_ << " held-out loss " << std::fixed << std::setprecision(4) << loss << " over " << tokens
       << " tokens";
    say(os.str());
    last_heldout_ = loss;
    return loss;
  }

  void save() {
    TrainingState st;
    st.trainer = "sft";
    st.step = step_;
    st.config_hash = hash_;
    st.meta = {{"epoch", epoch_},        {"position", pos_},      {"rng", {{"shuffle", rng_->rng_state()}}},
               {"elapsed_s", elapsed()}, {"total_steps", total_}, {"identity", identity_}};
    st.model = model_.state().items();
    st.optimizer = opt_->state();
    st.extra = {{"permutation", Tensor::from_ids(perm_, {samples()})}};
    last_path_ = ckpts_.save(st);
    last_saved_ = step_;
    log_->write({{"type", "checkpoint"}, {"step", step_}, {"path", last_path_}});
    say("step " + std::to_string(step_) + " checkpoint " + last_path_);
  }

  void restore() {
    const std::optional<std::string> latest = ckpts_.latest();
    GT_CHECK(latest, c_.out_dir, ": nothing to resume (no ", ckpts_.dir(), "/latest)");
    const TrainingState st = read_training_state(*latest);
    GT_CHECK(st.trainer == "sft", *latest, ": written by the ", st.trainer, " trainer, not by sft");
    if (st.config_hash != hash_) {
      const json saved = st.meta.value("identity", json::object());
      fail(*latest, ": written by a run with different settings or data (", identity_diff(saved, identity_),
           "); an exact resume needs the same ones");
    }
    try {
      const json& m = st.meta;
      epoch_ = m.at("epoch").get<int64_t>();
      pos_ = m.at("position").get<int64_t>();
      elapsed_before_ = m.at("elapsed_s").get<double>();
      SamplingOptions so;
      so.seed = c_.seed;
      rng_ = std::make_unique<Sampler>(so, kShuffleStream);
      rng_->set_rng_state(m.at("rng").at("shuffle").get<std::array<uint64_t, 4>>());
    } catch (const json::exception& e) {
      fail(*latest, ": incomplete sft state (", e.what(), ")");
    }
    perm_ = st.extra_tensor("permutation").to_ids();
    GT_CHECK(is_permutation_of(perm_, samples()) && pos_ >= 0 && pos_ <= samples() && epoch_ >= 0, *latest,
             ": its data position does not fit ", samples(), " training samples");
    load_model_tensors(model_.state(), st, *latest);
    try {
      opt_->load_state(st.optimizer);
    } catch (const Error& e) {
      fail(*latest, ": ", e.what());
    }
    step_ = st.step;
    last_saved_ = step_;
    last_path_ = *latest;
  }

  const SftConfig& c_;
  const SftRunOptions& o_;
  Gemma4 model_;
  data::Tokenizer tokenizer_;
  CheckpointDir ckpts_;
  SftDataset train_;
  std::optional<SftDataset> heldout_;
  std::vector<Tensor> params_;
  std::unique_ptr<Optimizer> opt_;
  ForwardOptions forward_;
  int64_t total_ = 0;
  json identity_;
  std::string hash_;

  int64_t step_ = 0, epoch_ = 0, pos_ = 0;
  std::vector<int64_t> perm_;
  std::unique_ptr<Sampler> rng_;

  std::unique_ptr<MetricsLog> log_;
  Clock::time_point started_, last_progress_;
  double elapsed_before_ = 0, train_seconds_ = 0, window_seconds_ = 0;
  int64_t steps_here_ = 0, window_tokens_ = 0;
  int64_t last_saved_ = -1;
  std::string last_path_;
  std::optional<double> last_heldout_;
};

}  // namespace

SftResult run_sft(const SftConfig& config, const SftRunOptions& options) { return Trainer(config, options).run(); }

}  // namespace gt::train
