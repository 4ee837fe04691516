#include "train/sft.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "autograd/ops.h"
#include "base/checked.h"
#include "base/checksum.h"
#include "base/error.h"
#include "train/gradients.h"
#include "train/run_log.h"
#include "train/sft_packing.h"
#include "train/training_run.h"

namespace gt::train {

using nlohmann::json;

namespace {

// The head's mean loss over the positions that predict a label (labels [B, T - from] from position `from` on), those
// rows alone gathered first: a packed row's later samples bring their prompts, which the head would score for
// nothing.
Tensor scored_rows_loss(const Gemma4& model, const Tensor& hidden, const std::vector<int64_t>& labels, int64_t from) {
  const int64_t B = hidden.size(0), T = hidden.size(1), H = hidden.size(2);
  std::vector<int64_t> rows, targets;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = from; t + 1 < T; ++t)
      if (const int64_t y = labels[static_cast<size_t>(b * (T - from) + t + 1 - from)]; y != -100) {
        rows.push_back(b * T + t);
        targets.push_back(y);
      }
  const int64_t n = static_cast<int64_t>(rows.size());
  const Tensor scored = embedding(hidden.reshape({B * T, H}), Tensor::from_ids(rows, {n}));
  return model.head_loss(scored.reshape({1, n, H}), Tensor::from_ids(targets, {1, n}));
}

}  // namespace

Tensor packed_loss(const Gemma4& model, const std::vector<std::vector<const TokenizedSample*>>& rows,
                   const ForwardOptions& forward, double denominator) {
  GT_CHECK(!rows.empty(), "sft: empty batch");
  int64_t T = 0, from = std::numeric_limits<int64_t>::max(), trainable = 0;
  bool packed = false;
  for (const std::vector<const TokenizedSample*>& row : rows) {
    GT_CHECK(!row.empty(), "sft: empty sequence in a batch");
    packed = packed || row.size() > 1;
    int64_t n = 0;
    for (const TokenizedSample* s : row) {
      const int64_t len = static_cast<int64_t>(s->ids.size());
      GT_CHECK(s->first_trainable >= 1 && s->first_trainable < len && s->trainable > 0, "sft: sample ", s->id,
               " has no trainable token after position 0");
      trainable += s->trainable;
      n += len;
    }
    T = std::max(T, n);
    // Position t predicts token t + 1: the positions from first_trainable - 1 of a row's first sample on are the
    // only ones with a label (the later samples of a packed row start after it).
    from = std::min(from, row.front()->first_trainable - 1);
  }
  // Rows are padded on the right: under the causal mask no real token sees a pad, so the rows need no attention
  // mask, and pads carry no label. A packed row's samples each get a segment (the pads one more): attention stays
  // inside a sample and its positions restart at 0. A sample's last token predicts nothing, as the next sample's
  // BOS is never trainable.
  const int64_t B = static_cast<int64_t>(rows.size());
  std::vector<int64_t> ids(static_cast<size_t>(B * T), model.config().pad_token_id);
  std::vector<int64_t> labels(static_cast<size_t>(B * (T - from)), -100);
  std::vector<int64_t> segments(packed ? static_cast<size_t>(B * T) : 0);
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<const TokenizedSample*>& row = rows[static_cast<size_t>(b)];
    int64_t o = 0;
    for (size_t k = 0; k <= row.size(); ++k) {
      const int64_t n = k < row.size() ? static_cast<int64_t>(row[k]->ids.size()) : T - o;
      if (packed) std::fill_n(segments.begin() + b * T + o, n, static_cast<int64_t>(k));
      if (k == row.size()) break;
      const TokenizedSample& s = *row[k];
      std::copy(s.ids.begin(), s.ids.end(), ids.begin() + b * T + o);
      for (int64_t t = std::max<int64_t>(0, from - o); t < n; ++t)
        if (s.mask[static_cast<size_t>(t)])
          labels[static_cast<size_t>(b * (T - from) + o + t - from)] = s.ids[static_cast<size_t>(t)];
      o += n;
    }
  }
  ForwardOptions fo = forward;
  if (packed) fo.segment_ids = Tensor::from_ids(segments, {B, T});
  const Tensor hidden = model.hidden_states(Tensor::from_ids(ids, {B, T}), fo);
  const Tensor mean = packed ? scored_rows_loss(model, hidden, labels, from)
                             : model.head_loss(hidden.slice(1, from, T),
                                               next_token_targets(Tensor::from_ids(labels, {B, T - from})));
  const double count = static_cast<double>(trainable);
  return denominator == count ? mean : scale(mean, count / denominator);
}

Tensor batch_loss(const Gemma4& model, const std::vector<const TokenizedSample*>& batch, const ForwardOptions& forward,
                  double denominator) {
  std::vector<std::vector<const TokenizedSample*>> rows;
  for (const TokenizedSample* s : batch) rows.push_back({s});
  return packed_loss(model, rows, forward, denominator);
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

class Trainer : TrainingRun {
 public:
  Trainer(const SftConfig& c, const SftRunOptions& o) : TrainingRun("sft", c, o), c_(c) {
    train_ = load_sft_dataset(c.train_data, tokenizer_, c.max_length, c.truncation, c.rendering);
    if (!c.heldout_data.empty())
      heldout_ = load_sft_dataset(c.heldout_data, tokenizer_, c.max_length, c.truncation, c.rendering);
    if (o.device != Device::CPU) model_.to(o.device);
    init_optimizer();
    sequences_ = c.packing ? pack_bfd(train_.samples, c.max_length) : one_per_sequence(train_.samples);
    const int64_t n = static_cast<int64_t>(sequences_.size());
    const int64_t per_step = checked_mul(c.batch_size, c.grad_accumulation, "batch_size x grad_accumulation");
    const int64_t per_epoch = (n + per_step - 1) / per_step;
    total_ = per_epoch * c.epochs;
    if (c.max_steps > 0) total_ = std::min(total_, c.max_steps);
    set_identity(training_identity(c), {{"samples", samples()}, {"fingerprint", hex64(train_.fingerprint)}});
    forward_.checkpoint_layers = c.checkpoint_layers;
  }

  SftResult run() {
    SftResult r;
    static_cast<RunResult&>(r) = run_loop(to_json(c_));
    r.last_loss = last_loss_;
    r.heldout_loss = last_heldout_;
    return r;
  }

 private:
  int64_t samples() const { return static_cast<int64_t>(train_.samples.size()); }
  int64_t data_size() const override { return static_cast<int64_t>(sequences_.size()); }
  const char* data_noun() const override { return c_.packing ? "packed training sequences" : "training samples"; }
  bool has_heldout() const override { return heldout_.has_value(); }

  void announce() override {
    report_data("train", train_.report);
    if (heldout_) report_data("heldout", heldout_->report);
    if (c_.packing) {
      const PackingReport p = packing_report(sequences_, samples(), c_.max_length);
      json j = p.to_json();
      j.update({{"type", "packing"}, {"set", "train"}, {"step", 0}});
      record(j);
      say(p.describe());
    }
    say(std::to_string(total_) + " steps (" + std::to_string(samples()) + " samples" +
        (c_.packing ? " in " + std::to_string(data_size()) + " packed sequences" : std::string()) + ", " +
        std::to_string(c_.epochs) +
        " epochs, batch_size " + std::to_string(c_.batch_size) + ", grad_accumulation " +
        std::to_string(c_.grad_accumulation) + ")");
  }

  void report_data(const char* which, const DataReport& d) {
    json j = d.to_json();
    j["type"] = "data";
    j["set"] = which;
    j["step"] = 0;
    record(j);
    std::ostringstream os;
    os << which << " data " << d.file << ": " << d.kept << " of " << d.read << " samples kept, " << d.prompt_cut
       << " with the prompt cut, " << d.target_cut << " with the target cut, "
       << d.dropped_too_long + d.dropped_no_target << " dropped (max_length " << c_.max_length << ", "
       << truncation_name(c_.truncation) << "); " << d.trainable_tokens << " trainable of " << d.tokens
       << " tokens, longest " << d.longest;
    say(os.str());
  }

  // Stops the run when the loss of a micro-batch is not finite, naming where the forward first went wrong.
  void check_loss(double v, const std::vector<std::vector<const TokenizedSample*>>& micro) const {
    if (std::isfinite(v)) return;
    std::string where;
    std::vector<std::string> micro_ids;
    for (const std::vector<const TokenizedSample*>& row : micro)
      for (const TokenizedSample* s : row) {
        if (where.empty())
          where = probe_non_finite(model_, Tensor::from_ids(std::vector<int64_t>(s->ids.begin(), s->ids.end()),
                                                            {1, static_cast<int64_t>(s->ids.size())}));
        micro_ids.push_back(s->id);
      }
    fail("sft: step ", step() + 1, ": the loss of ", join_names(micro_ids, 4), " is ", v,
         where.empty() ? std::string("; the forward is finite, so the head's loss overflowed")
                       : "; the first non-finite value is in " + where);
  }

  void take_step() override {
    const auto t0 = Clock::now();
    double denominator = 0;
    int64_t tokens = 0;
    // The step's sequences (one sample each unless packing); the loss is the mean over all their trainable tokens.
    std::vector<std::vector<const TokenizedSample*>> step_rows;
    std::vector<std::string> ids;
    for (int64_t k : next_items(c_.batch_size * c_.grad_accumulation)) {
      std::vector<const TokenizedSample*>& row = step_rows.emplace_back();
      for (int64_t i : sequences_[static_cast<size_t>(k)].samples) {
        const TokenizedSample& s = train_.samples[static_cast<size_t>(i)];
        denominator += static_cast<double>(s.trainable);
        tokens += static_cast<int64_t>(s.ids.size());
        row.push_back(&s);
        ids.push_back(s.id);
      }
    }
    double loss = 0;
    for (size_t k = 0; k < step_rows.size(); k += static_cast<size_t>(c_.batch_size)) {
      const std::vector<std::vector<const TokenizedSample*>> micro(
          step_rows.begin() + static_cast<std::ptrdiff_t>(k),
          step_rows.begin() + static_cast<std::ptrdiff_t>(std::min(step_rows.size(), k + static_cast<size_t>(c_.batch_size))));
      ForwardOptions fo = forward_;
      fo.lora_dropout_key = lora_dropout(static_cast<int64_t>(k / static_cast<size_t>(c_.batch_size)));
      const Tensor l = packed_loss(model_, micro, fo, denominator);
      const double v = l.item();
      check_loss(v, micro);
      loss += v;
      l.backward();
    }
    last_loss_ = loss;
    StepStats st;
    st.started = t0;
    st.record = {{"loss", loss}, {"tokens", tokens}, {"trainable_tokens", static_cast<int64_t>(denominator)}};
    st.rates = {{"tokens_per_s", tokens, t0}};
    st.window_tokens = tokens;
    std::ostringstream about;
    about << " (loss " << loss << ")";
    st.about = about.str();
    st.inputs = "; samples " + join_names(ids, 4);
    finish_step(std::move(st));
  }

  void describe_step(std::ostream& os, const json& r, double tokens_per_s) const override {
    os << "/" << c_.epochs << " loss " << std::setprecision(4) << r["loss"].get<double>() << " lr "
       << std::scientific << std::setprecision(2) << r["learning_rate"].get<double>() << " |g| " << std::fixed
       << std::setprecision(3) << r["grad_norm"].get<double>() << " " << std::setprecision(0) << tokens_per_s
       << " tok/s";
  }

  void evaluate() override {
    int64_t tokens = 0;
    const double loss = heldout_loss(model_, heldout_->samples, c_.eval_max_samples, forward_, &tokens);
    record({{"type", "eval"},
                 {"step", step()},
                 {"epoch", epoch_float()},
                 {"eval_loss", loss},
                 {"eval_tokens", tokens},
                 {"elapsed_s", elapsed()}});
    std::ostringstream os;
    os << "step " << step() << " held-out loss " << std::fixed << std::setprecision(4) << loss << " over " << tokens
       << " tokens";
    say(os.str());
    last_heldout_ = loss;
  }

  const SftConfig& c_;
  SftDataset train_;
  std::vector<PackedSequence> sequences_;  // what the epochs' order permutes: packed, or one sample each
  std::optional<SftDataset> heldout_;
  ForwardOptions forward_;
  double last_loss_ = 0;
  std::optional<double> last_heldout_;
};

}  // namespace

SftResult run_sft(const SftConfig& config, const SftRunOptions& options) { return Trainer(config, options).run(); }

}  // namespace gt::train
