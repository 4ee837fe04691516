#pragma once
// What every trainer (SFT, GRPO) is built from: the starting model, the optimizer, the seeded epoch order, the
// messages of a refused resume, and TrainingRun, the run around the trainer's own steps.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "model/gemma4.h"
#include "model/sampler.h"
#include "optim/optimizer.h"
#include "train/checkpoint.h"
#include "train/gradients.h"
#include "train/run_log.h"
#include "train/trainer_config.h"

namespace gt::train {

// The run's own settings in its out dir, defaults filled in. Not "config.json": a Hugging Face folder's model config
// has that name, and an out dir sits beside (and holds) such folders.
inline constexpr const char* kRunConfigFile = "run_config.json";

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

// How a run ended (SftResult and GrpoResult are this and the trainer's own figures).
struct RunResult {
  int64_t step = 0;
  int64_t total_steps = 0;
  bool finished = false;     // reached the end (and exported final/: the adapter folder in a LoRA run)
  bool out_of_time = false;  // stopped by time_limit_s before the end (and exported final/ there)
  std::string final_dir;     // out_dir/final once finished (or out of time)
  std::string last_checkpoint;
};

// How a run starts, stops and reports, and on which device (SftRunOptions and GrpoRunOptions are this).
struct RunOptions {
  bool resume = false;     // continue from the out dir's latest checkpoint (required when the out dir has one)
  int64_t stop_after = 0;  // stop after this step, with a checkpoint there, as an interrupted run would (0: off)
  const std::atomic<bool>* stop_flag = nullptr;  // when it turns true: finish the step, checkpoint, stop
  // A time budget (AutoResearch's): after the step that reaches this much training time (seconds, counted over
  // resumes as elapsed_s is), take the held-out eval, checkpoint, export final/ and stop. 0: no limit.
  double time_limit_s = 0;
  std::ostream* progress = nullptr;  // progress lines (rates, ETA) and events; null: none
  // Where the weights, gradients, optimizer state (and GRPO's rollouts and reference copy) live. Not part of the
  // training's identity: a run may resume on the other device.
  Device device = Device::CPU;
};

// The run a trainer's steps take place in, the same for SFT and GRPO: the model, tokenizer and optimizer; a fresh
// start (refused over another run's checkpoints) or an exact resume (refused when the training identity differs);
// run_config.json, metrics.jsonl (with TensorBoard event files beside it) and plots/ (after each eval and at the end)
// in out_dir; the data order (a seeded permutation a epoch) and position; the end of
// every step once its gradients exist (finish_step); held-out evals at the start, every eval_every steps, at the end
// and when out of time; checkpoints every save_every steps, at the end and whenever the run stops (stop_after,
// stop_flag, time_limit_s); final/ exported at the end or when out of time. The trainer supplies the gradients of
// each step, the eval, and whatever state of its own a checkpoint must hold.
class TrainingRun {
 public:
  virtual ~TrainingRun() = default;

 protected:
  using Clock = std::chrono::steady_clock;

  // What a trainer hands finish_step once the step's gradients are accumulated.
  struct StepStats {
    Clock::time_point started;  // the step's time, up to the end of the update, counts toward the ETA
    // The trainer's fields of the step's "train" record; finish_step adds type, step, epoch, lr, grad_norm,
    // elapsed_s and the rates.
    nlohmann::json record;
    // record[key] = tokens / the seconds from `since` to the end of the update.
    struct Rate {
      const char* key;
      int64_t tokens;
      Clock::time_point since;
    };
    std::vector<Rate> rates;
    // The progress line's tokens/s: these tokens over these seconds (unset: the step's), summed since the last line.
    int64_t window_tokens = 0;
    std::optional<double> window_seconds;
    // How a failed gradient check describes the step: `about` follows the norm (" (loss 2.5)"), `inputs` ends the
    // message ("; samples a, b"). A zero norm stops the run unless the step carried no signal (GRPO's batches whose
    // groups all score alike), and `zero_why` says why it should not be zero.
    std::string about, inputs, zero_why;
    bool zero_norm_expected = false;
  };

  // `tag` ("sft", "grpo") starts the progress lines and names the trainer in checkpoints. Builds or loads c.model
  // and loads c.tokenizer, whose ids must fit the model's vocabulary; c.seed seeds the data order.
  TrainingRun(std::string tag, const TrainerConfig& c, const RunOptions& o);

  // The trainer's part. take_step takes the next items (next_items), accumulates their gradients and calls
  // finish_step; evaluate runs the held-out eval (only called when has_heldout()); announce writes a fresh run's
  // first records and lines; describe_step writes the trainer's part of a progress line, between "step s/t epoch e"
  // and " elapsed", with the window's tokens/s.
  virtual int64_t data_size() const = 0;
  virtual const char* data_noun() const = 0;  // "training samples": names data_size() in errors
  virtual void take_step() = 0;
  virtual bool has_heldout() const = 0;
  virtual void evaluate() = 0;
  virtual void announce() = 0;
  virtual void describe_step(std::ostream& os, const nlohmann::json& record, double tokens_per_s) const = 0;
  // Random streams besides the data order's (made at a fresh start and before a restore).
  virtual void make_own_streams() {}
  // The trainer's own meta and tensors in a checkpoint, and back (json errors here name the file as incomplete).
  virtual void add_state(TrainingState&) const {}
  virtual void restore_state(const TrainingState&, const std::string& file) {}

  // Called by the trainer's constructor once the model is where it trains.
  void init_optimizer();
  // What trains, is checkpointed and restored: the adapter's state in a LoRA run (the model is frozen), else the
  // model's.
  NamedParameters& trained();
  // ForwardOptions::lora_dropout_key for micro-batch `micro` of the coming step; none when no dropout applies.
  std::optional<uint64_t> lora_dropout(int64_t micro) const;
  // The training identity (the config's training_identity) with the model's config and `train_data` added; its
  // hash must match for a resume.
  void set_identity(nlohmann::json identity, nlohmann::json train_data);

  // The whole run; `config` is written to out_dir/run_config.json.
  RunResult run_loop(const nlohmann::json& config);

  // What final/ (and GRPO's best/) hold: the Hugging Face folder (export_hf), or in a LoRA run the adapter alone in
  // peft's layout (export_adapter).
  void export_model(const std::string& dir) const;
  // The data indices of the next `n` items in the epoch's order, fewer at the epoch's end; a new epoch (with a new
  // permutation) starts first when the last one is used up.
  std::vector<int64_t> next_items(int64_t n);
  // Everything after the step's gradients: the gradient-norm checks, clipping to grad_clip, the schedule's lr, the
  // optimizer step, the step count, the "train" record and the progress line.
  void finish_step(StepStats stats);
  void record(const nlohmann::json& rec);  // a line of metrics.jsonl
  void say(const std::string& line) const;
  int64_t step() const { return step_; }  // steps done
  double elapsed() const;      // training time, over resumes
  double epoch_float() const;  // epochs done, fractional

  const std::string tag_;
  Gemma4 model_;
  data::Tokenizer tokenizer_;
  int64_t total_ = 0;

 private:
  void make_streams();
  void next_epoch_if_done();
  double update(double grad_norm);  // clips, sets the lr for the step after step_, steps; returns the lr
  void check_grad_norm(const GradNorm& gn, const StepStats& s) const;
  std::string describe_adapter() const;
  void progress(const nlohmann::json& rec);
  void plot() const;  // the charts of metrics.jsonl into out_dir/plots (train/metric_plots.h)
  bool progress_due() const;
  void save();
  void restore();

  const TrainerConfig& config_;
  const RunOptions& o_;
  CheckpointDir ckpts_;
  std::vector<Tensor> params_;
  std::unique_ptr<Optimizer> opt_;
  int64_t step_ = 0, epoch_ = 0, pos_ = 0;
  std::vector<int64_t> perm_;
  std::unique_ptr<MetricsLog> log_;
  std::string last_path_;  // the newest checkpoint
  std::unique_ptr<Sampler> shuffle_;
  nlohmann::json identity_;
  std::string hash_;
  Clock::time_point started_, last_progress_;
  double elapsed_before_ = 0, step_seconds_ = 0, window_seconds_ = 0;
  int64_t steps_here_ = 0, last_saved_ = -1, window_tokens_ = 0;
};

}  // namespace gt::train
