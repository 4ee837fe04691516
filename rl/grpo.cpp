#include "rl/grpo.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>
#include <sstream>

#include "base/checksum.h"
#include "base/error.h"
#include "model/generate.h"
#include "rl/policy.h"
#include "rl/rollout.h"
#include "train/checkpoint.h"
#include "train/gradients.h"
#include "train/metric_names.h"
#include "train/run_log.h"
#include "train/training_run.h"

namespace gt::rl {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kRolloutStream = 0x524f4c4c4f5554ull;  // "ROLLOUT": the seeds of the generate calls

struct Completion {
  int64_t prompt = 0;  // index into the prompt set
  std::vector<int64_t> tokens;
  bool truncated = false;  // ran into max_completion_length without a stop token
  Scored score;
  std::string text;
};

// One generation batch and what its optimizer steps need.
struct Batch {
  std::vector<int64_t> prompts;         // one per group
  std::vector<Completion> completions;  // group-major
  BatchWeights plan;
  std::vector<std::vector<float>> old_logp, ref_logp;  // per completion, when stored
};

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double stdev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

// The f32 log-probs of every completion, concatenated, for a checkpoint; and back.
Tensor flatten(const std::vector<std::vector<float>>& v) {
  std::vector<float> flat;
  for (const auto& x : v) flat.insert(flat.end(), x.begin(), x.end());
  return Tensor::from_vector(flat, {static_cast<int64_t>(flat.size())});
}

std::vector<std::vector<float>> unflatten(const Tensor& t, const std::vector<Completion>& cs, const std::string& file) {
  const std::vector<float> flat = t.to_floats();
  std::vector<std::vector<float>> out;
  size_t at = 0;
  for (const Completion& c : cs) {
    GT_CHECK(at + c.tokens.size() <= flat.size(), file, ": the stored log-probs do not fit the stored batch");
    out.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(at),
                     flat.begin() + static_cast<std::ptrdiff_t>(at + c.tokens.size()));
    at += c.tokens.size();
  }
  GT_CHECK(at == flat.size(), file, ": the stored log-probs do not fit the stored batch");
  return out;
}

class Trainer : train::TrainingRun {
 public:
  Trainer(const GrpoConfig& c, const GrpoRunOptions& o)
      : TrainingRun("grpo", c, o),
        c_(c),
        reward_(c.reward_weights, c.reward_command, c.reward_timeout_s) {
    prompts_ =
        load_prompts(c.train_data, tokenizer_, c.max_prompt_length, !reward_.external(), c.chat_template_kwargs);
    if (!c.heldout_data.empty()) heldout_ = load_prompts(c.heldout_data, tokenizer_, c.max_prompt_length, true);
    stop_ids_ = stop_ids_for(c.model.dir, tokenizer_);
    GT_CHECK(!stop_ids_.empty(), c.tokenizer, ": has none of the stop tokens <eos>, <turn|>, <|tool_response>");
    // With a LoRA adapter the reference policy is the frozen model itself with the adapter off: no second copy.
    if (c.beta > 0 && !c.lora) ref_ = std::make_unique<Gemma4>(train::build_model(c.model, c.path, "grpo", nullptr));
    if (o.device != Device::CPU) {
      model_.to(o.device);
      if (ref_) ref_->to(o.device);
    }
    init_optimizer();
    const auto n = static_cast<int64_t>(prompts_.size());
    total_ =
        c.max_steps > 0 ? c.max_steps : (c.epochs * n + c.prompts_per_step - 1) / c.prompts_per_step * c.num_iterations;
    set_identity(training_identity(c), {{"prompts", n}, {"fingerprint", hex64(prompts_.fingerprint)}});
    policy_.temperature = c.temperature;
    policy_.batch_size = c.batch_size;
    policy_.forward.checkpoint_layers = c.checkpoint_layers;
    heldout_opts_.max_samples = c.eval_max_samples;
    heldout_opts_.max_new_tokens = c.eval_max_new_tokens;
    heldout_opts_.sampling = c.eval_sampling;
    heldout_opts_.stop_ids = stop_ids_;
    // The published weights, whatever the training reward is: the eval that picks best/ must not move with it.
    heldout_opts_.weights = RewardWeights{};
  }

  GrpoResult run() {
    GrpoResult r;
    static_cast<train::RunResult&>(r) = run_loop(to_json(c_));
    r.last_reward = last_reward_;
    r.heldout_mean = last_heldout_;
    r.best_mean = best_mean_;
    r.best_step = best_step_;
    if (heldout_) r.best_dir = best_dir();
    return r;
  }

 private:
  int64_t prompt_count() const { return static_cast<int64_t>(prompts_.size()); }
  int64_t data_size() const override { return prompt_count(); }
  const char* data_noun() const override { return "prompts"; }
  bool has_heldout() const override { return heldout_.has_value(); }
  std::string best_dir() const { return (fs::path(c_.out_dir) / "best").string(); }

  void announce() override {
    report_data("train", c_.train_data, prompts_);
    if (heldout_) report_data("heldout", c_.heldout_data, *heldout_);
    say(std::to_string(total_) + " steps: " + std::to_string(c_.prompts_per_step) + " prompts x " +
        std::to_string(c_.num_generations) + " completions a batch, " + std::to_string(c_.num_iterations) +
        " step(s) each, loss " + loss_type_name(c_.loss_type) + ", lr " + format_lr(c_.lr()));
  }

  static std::string format_lr(double lr) {
    std::ostringstream os;
    os << std::scientific << std::setprecision(2) << lr;
    return os.str();
  }

  void make_own_streams() override {
    SamplingOptions so;
    so.seed = c_.seed;
    rollouts_ = std::make_unique<Sampler>(so, kRolloutStream);
  }

  void report_data(const char* which, const std::string& file, const PromptSet& set) {
    json j = set.report(file);
    j["type"] = "data";
    j["set"] = which;
    j["step"] = 0;
    record(j);
    say(std::string(which) + " prompts " + file + ": " + std::to_string(set.size()) + " of " +
        std::to_string(set.read) + " kept, " + std::to_string(set.dropped_too_long) + " longer than " +
        std::to_string(c_.max_prompt_length) + " tokens left out; longest " + std::to_string(set.longest));
  }

  std::vector<Sequence> sequences(const Batch& b) const {
    std::vector<Sequence> seqs;
    for (const Completion& c : b.completions) seqs.push_back({&prompts_.ids[static_cast<size_t>(c.prompt)], &c.tokens});
    return seqs;
  }

  // Rewards, advantages and stored log-probs of a batch whose completions are known (new or restored).
  void score_and_plan(Batch& b) {
    std::vector<double> rewards;
    std::vector<int64_t> lengths;
    std::vector<uint8_t> truncated;
    for (const Completion& c : b.completions) {
      rewards.push_back(c.score.reward);
      lengths.push_back(static_cast<int64_t>(c.tokens.size()));
      truncated.push_back(c.truncated);
    }
    b.plan = plan_batch(rewards, lengths, truncated, c_.num_generations, c_.scale_rewards,
                        {c_.loss_type, c_.batch_size, c_.max_completion_length}, c_.mask_truncated_completions);
  }

  Completion complete(int64_t prompt, std::vector<int64_t> tokens, bool stopped) const {
    Completion c;
    c.prompt = prompt;
    c.tokens = std::move(tokens);
    c.truncated = !stopped;
    c.text = completion_text(tokenizer_, c.tokens);
    const auto p = static_cast<size_t>(prompt);
    c.score = reward_(prompts_.samples[p], prompts_.refs[p], c.text);
    return c;
  }

  void new_batch() {
    const auto t0 = Clock::now();
    Batch b;
    GenerateOptions g;
    g.max_new_tokens = c_.max_completion_length;
    g.num_samples = c_.num_generations;
    g.sampling = {c_.temperature, c_.top_k, c_.top_p, 0};
    g.stop_ids = stop_ids_;
    g.vocab_limit = tokenizer_.vocab_size();
    int64_t generated = 0;
    resampled_groups_ = 0;
    for (int64_t k = 0; k < c_.prompts_per_step; ++k) {
      for (int64_t tries = 0;; ++tries) {
        const int64_t p = next_items(1).front();
        g.sampling.seed = static_cast<uint64_t>(rollouts_->uniform() * 0x1p53);
        std::vector<Completion> group;
        for (Generation& gen : generate(model_, prompts_.ids[static_cast<size_t>(p)], g)) {
          generated += static_cast<int64_t>(gen.tokens.size());
          group.push_back(complete(p, std::move(gen.tokens), gen.stopped));
        }
        if (c_.dynamic_sampling && tries < c_.max_resamples && rewards_all_equal(group)) {
          ++resampled_groups_;
          continue;
        }
        b.prompts.push_back(p);
        for (Completion& c : group) b.completions.push_back(std::move(c));
        break;
      }
    }
    rollout_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
    rollout_tokens_ = generated;
    score_and_plan(b);
    store_logprobs(b);
    batch_ = std::move(b);
  }

  // The criterion of a zero-std group in the advantages (rl/grpo_loss.h), so a group kept is one that moves.
  static bool rewards_all_equal(const std::vector<Completion>& group) {
    std::vector<double> rewards;
    for (const Completion& c : group) rewards.push_back(c.score.reward);
    return compute_advantages(rewards, static_cast<int64_t>(rewards.size()), ScaleRewards::None).zero_std[0] != 0;
  }

  void store_logprobs(Batch& b) const {
    const std::vector<Sequence> seqs = sequences(b);
    if (c_.num_iterations > 1) b.old_logp = sequence_logprobs(model_, seqs, policy_);
    if (c_.beta > 0) {
      PolicyOptions reference = policy_;
      reference.forward.adapter_off = true;
      b.ref_logp = sequence_logprobs(ref_ ? *ref_ : model_, seqs, reference);
    }
  }

  void take_step() override {
    const auto t0 = Clock::now();
    const int64_t iteration = step() % c_.num_iterations;
    rollout_tokens_ = 0;
    rollout_seconds_ = 0;
    if (iteration == 0) new_batch();
    const Batch& b = *batch_;
    const auto tu = Clock::now();

    PolicyTargets targets;
    targets.advantage = b.plan.advantages.values;
    targets.weight = b.plan.weights;
    targets.old_logp = b.old_logp;
    targets.ref_logp = b.ref_logp;
    const std::vector<Sequence> seqs = sequences(b);
    PolicyOptions po = policy_;
    po.forward.lora_dropout_key = lora_dropout(0);  // one key a step: its micro-batches draw alike-shaped masks alike
    const PolicyStats ps =
        accumulate_policy_gradient(model_, seqs, targets,
                                   {c_.epsilon_low, c_.epsilon_high, c_.beta, c_.importance_level}, po);
    if (!ps.finite) {
      const Sequence& s = seqs[static_cast<size_t>(ps.first_bad_sequence)];
      std::vector<int64_t> ids(*s.prompt);
      ids.insert(ids.end(), s.completion->begin(), s.completion->end());
      const std::string where =
          train::probe_non_finite(model_, Tensor::from_ids(ids, {1, static_cast<int64_t>(ids.size())}));
      fail("grpo: step ", step() + 1, ": the loss is not finite",
           where.empty() ? std::string("; the forward is finite, so the head's log-probs overflowed")
                         : "; the first non-finite value is in " + where);
    }
    bool signal = false;
    for (size_t i = 0; i < targets.weight.size(); ++i)
      signal = signal || (targets.weight[i] > 0 && targets.advantage[i] != 0);
    StepStats st;
    st.started = t0;
    st.record = train_record(b, ps, iteration);
    st.rates = {{"update_tokens_per_s", ps.tokens_processed, tu},
                {"tokens_per_s", rollout_tokens_ + ps.tokens_processed, t0}};
    st.window_tokens = rollout_tokens_;
    st.window_seconds = rollout_seconds_;
    st.zero_norm_expected = !signal;
    st.zero_why = " although completions carry advantages";
    last_reward_ = st.record["reward"].get<double>();
    finish_step(std::move(st));
    if (iteration == 0 && c_.log_completions > 0) log_samples(b);
  }

  // The step's own fields of its "train" record (finish_step adds the rest).
  json train_record(const Batch& b, const PolicyStats& ps, int64_t iteration) const {
    std::vector<double> rewards, lengths, adv;
    json terms_sum = json::object();
    int64_t truncated = 0, with_terms = 0;
    for (size_t i = 0; i < b.completions.size(); ++i) {
      const Completion& c = b.completions[i];
      rewards.push_back(c.score.reward);
      lengths.push_back(static_cast<double>(c.tokens.size()));
      adv.push_back(b.plan.advantages.values[i]);
      truncated += c.truncated;
      if (c.score.terms) {
        ++with_terms;
        const json t = c.score.terms->to_json();
        for (const auto& [k, v] : t.items()) terms_sum[k] = terms_sum.value(k, 0.0) + v.get<double>();
      }
    }
    double abs_adv = 0;
    for (double a : adv) abs_adv += std::fabs(a);
    const TokenStats& t = ps.tokens;
    const double tokens = static_cast<double>(std::max<int64_t>(1, t.tokens));
    json r = {{"iteration", iteration},
              {"loss", t.loss},
              {"reward", mean(rewards)},
              {"reward_batch_std", stdev(rewards)},
                            {"reward_std", b.plan.advantages.mean_group_std},
              {"frac_reward_zero_std", b.plan.advantages.zero_std_fraction},
              {"advantage_std", stdev(adv)},
              {"advantage_abs_mean", abs_adv / static_cast<double>(adv.size())},
              {"advantage_min", *std::min_element(adv.begin(), adv.end())},
              {"advantage_max", *std::max_element(adv.begin(), adv.end())},
              {"clip_ratio/low_mean", static_cast<double>(t.low_clipped) / tokens},
              {"clip_ratio/high_mean", static_cast<double>(t.high_clipped) / tokens},
              {"clip_ratio/region_mean", static_cast<double>(t.low_clipped + t.high_clipped) / tokens},
              {"ratio_mean", t.ratio_sum / tokens},
              {"completions/mean_length", mean(lengths)},
              {"completions/min_length", *std::min_element(lengths.begin(), lengths.end())},
              {"completions/max_length", *std::max_element(lengths.begin(), lengths.end())},
              {"completions/clipped_ratio", static_cast<double>(truncated) / static_cast<double>(b.completions.size())},
              {"loss_tokens", t.tokens},
              {"update_tokens", ps.tokens_processed}};
    for (const auto& [k, v] : terms_sum.items())
      r[train::reward_term_key(k)] = v.get<double>() / static_cast<double>(with_terms);
    r["kl"] = b.ref_logp.empty() ? json(nullptr) : json(t.kl_sum / tokens);
    if (c_.dynamic_sampling && iteration == 0) r["resampled_groups"] = resampled_groups_;
    if (rollout_tokens_ > 0) {
      r["rollout_tokens"] = rollout_tokens_;
      r["rollout_tokens_per_s"] = static_cast<double>(rollout_tokens_) / std::max(rollout_seconds_, 1e-9);
    }
    return r;
  }

  void log_samples(const Batch& b) {
    json list = json::array();
    const size_t n = std::min(b.completions.size(), static_cast<size_t>(c_.log_completions));
    for (size_t i = 0; i < n; ++i) {
      // Spread over the groups: the first completion of each group, then the second, and so on.
      const size_t groups = b.prompts.size();
      const size_t k = (i % groups) * static_cast<size_t>(c_.num_generations) + i / groups;
      if (k >= b.completions.size()) break;
      const Completion& c = b.completions[k];
      json e = {{"prompt_id", prompts_.samples[static_cast<size_t>(c.prompt)].id},
                {"reward", c.score.reward},
                {"advantage", b.plan.advantages.values[k]},
                {"tokens", static_cast<int64_t>(c.tokens.size())},
                {"truncated", c.truncated},
                {"completion", c.text}};
      if (c.score.terms) e["terms"] = c.score.terms->to_json();
      list.push_back(e);
    }
    record({{"type", "samples"}, {"step", step()}, {"completions", list}});
  }

  void describe_step(std::ostream& os, const json& r, double rollout_tokens_per_s) const override {
    os << " reward " << std::setprecision(3) << r["reward"].get<double>() << " (std "
       << r["reward_batch_std"].get<double>() << ", zero-std groups " << std::setprecision(2)
       << r["frac_reward_zero_std"].get<double>() << ") loss " << std::setprecision(4) << r["loss"].get<double>();
    if (!r["kl"].is_null()) os << " kl " << std::setprecision(4) << r["kl"].get<double>();
    os << " clip " << std::setprecision(2) << r["clip_ratio/low_mean"].get<double>() << "/"
       << r["clip_ratio/high_mean"].get<double>() << " len " << std::setprecision(0)
       << r["completions/mean_length"].get<double>() << " trunc " << std::setprecision(2)
       << r["completions/clipped_ratio"].get<double>() << " |g| " << std::setprecision(3) << r["grad_norm"].get<double>()
       << " rollout " << std::setprecision(0) << rollout_tokens_per_s << " tok/s update "
       << r["update_tokens_per_s"].get<double>() << " tok/s";
  }

  void evaluate() override {
    const auto t0 = Clock::now();
    const HeldoutResult h = evaluate_heldout(model_, tokenizer_, *heldout_, heldout_opts_);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const bool best = !best_mean_ || h.mean > *best_mean_;
    // Evaluation metrics carry Hugging Face Trainer's eval_ prefix (docs/metrics.md).
    json rec = {{"type", "eval"}, {"step", step()}, {"best", best}, {"elapsed_s", elapsed()}};
    const json metrics = h.to_json();
    for (const auto& [k, v] : metrics.items()) rec["eval_" + k] = v;
    rec["eval_tokens_per_s"] = static_cast<double>(h.tokens) / std::max(secs, 1e-9);
    record(rec);
    std::ostringstream os;
    os << "step " << step() << " held-out Mean " << std::fixed << std::setprecision(4) << h.mean << " over " << h.samples
       << " samples (JSON valid " << std::setprecision(1) << 100 * h.json_valid << "%, plugin-ID match "
       << 100 * h.plugin_id_match << "%)";
    if (best) os << ", the best so far";
    say(os.str());
    if (best) {
      best_mean_ = h.mean;
      best_step_ = step();
      export_model(best_dir());
      record({{"type", "best"}, {"step", step()}, {"eval_mean", h.mean}, {"path", best_dir()}});
    }
    last_heldout_ = h.mean;
  }

  void add_state(train::TrainingState& st) const override {
    st.meta["rng"]["rollout"] = rollouts_->rng_state();
    st.meta["best_mean"] = best_mean_ ? json(*best_mean_) : json(nullptr);
    st.meta["best_step"] = best_step_;
    // Between a batch's iterations the batch itself is state: the next steps reuse it.
    if (step() % c_.num_iterations != 0) {
      json cs = json::array();
      for (const Completion& c : batch_->completions)
        cs.push_back(
            {{"prompt", c.prompt}, {"tokens", c.tokens}, {"truncated", c.truncated}, {"reward", c.score.reward}});
      st.meta["batch"] = {{"prompts", batch_->prompts}, {"completions", cs}};
      if (!batch_->old_logp.empty()) st.extra.emplace_back("batch_old_logp", flatten(batch_->old_logp));
      if (!batch_->ref_logp.empty()) st.extra.emplace_back("batch_ref_logp", flatten(batch_->ref_logp));
    }
  }

  void restore_state(const train::TrainingState& st, const std::string& file) override {
    const json& m = st.meta;
    rollouts_->set_rng_state(m.at("rng").at("rollout").get<std::array<uint64_t, 4>>());
    if (!m.at("best_mean").is_null()) best_mean_ = m.at("best_mean").get<double>();
    best_step_ = m.at("best_step").get<int64_t>();
    if (st.step % c_.num_iterations != 0) {
      const json& jb = m.at("batch");
      Batch b;
      b.prompts = jb.at("prompts").get<std::vector<int64_t>>();
      for (const json& jc : jb.at("completions")) {
        const auto p = jc.at("prompt").get<int64_t>();
        GT_CHECK(p >= 0 && p < prompt_count(), file, ": the stored batch names prompt ", p, " of ", prompt_count());
        Completion c;
        c.prompt = p;
        c.tokens = jc.at("tokens").get<std::vector<int64_t>>();
        c.truncated = jc.at("truncated").get<bool>();
        c.text = completion_text(tokenizer_, c.tokens);
        // The built-in reward is a function of the text: its terms are recomputed; the reward itself is the
        // stored one (an external command need not be run again).
        if (!reward_.external())
          c.score = reward_(prompts_.samples[static_cast<size_t>(p)], prompts_.refs[static_cast<size_t>(p)], c.text);
        c.score.reward = jc.at("reward").get<double>();
        b.completions.push_back(std::move(c));
      }
      GT_CHECK(static_cast<int64_t>(b.completions.size()) == c_.generation_batch(), file, ": the stored batch has ",
               b.completions.size(), " completions, not ", c_.generation_batch());
      score_and_plan(b);
      if (c_.num_iterations > 1) b.old_logp = unflatten(st.extra_tensor("batch_old_logp"), b.completions, file);
      if (c_.beta > 0) b.ref_logp = unflatten(st.extra_tensor("batch_ref_logp"), b.completions, file);
      batch_ = std::move(b);
    }
  }

  const GrpoConfig& c_;
  std::unique_ptr<Gemma4> ref_;
  RewardFunction reward_;
  PromptSet prompts_;
  std::optional<PromptSet> heldout_;
  std::vector<int64_t> stop_ids_;
  PolicyOptions policy_;
  HeldoutOptions heldout_opts_;

  std::unique_ptr<Sampler> rollouts_;
  std::optional<Batch> batch_;
  std::optional<double> best_mean_;
  int64_t best_step_ = -1;
  double last_reward_ = 0;
  int64_t resampled_groups_ = 0;  // groups of the newest batch replaced by dynamic sampling
  std::optional<double> last_heldout_;

  double rollout_seconds_ = 0;
  int64_t rollout_tokens_ = 0;
};

}  // namespace

GrpoResult run_grpo(const GrpoConfig& config, const GrpoRunOptions& options) { return Trainer(config, options).run(); }

}  // namespace gt::rl
