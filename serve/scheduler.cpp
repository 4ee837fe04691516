#include "serve/scheduler.h"

#include <algorithm>
#include <chrono>

#include "model/generate.h"

namespace gt::serve {

Job::Snapshot Job::wait(size_t seen, int timeout_ms) const {
  std::unique_lock lock(m_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
               [&] { return state_.done || state_.tokens.size() > seen; });
  return state_;
}

void Job::push(int64_t token, bool stopped) {
  {
    std::lock_guard lock(m_);
    state_.tokens.push_back(token);
    state_.stopped = stopped;
  }
  cv_.notify_all();
}

void Job::finish(const std::string& error) {
  {
    std::lock_guard lock(m_);
    state_.done = true;
    state_.error = error;
  }
  cv_.notify_all();
}

struct Scheduler::Sequence {
  std::shared_ptr<Job> job;
  KVCache cache;
  Sampler sampler;
  Tensor logits;  // [1, 1, V] for the next token
  int64_t made = 0;
  bool finished = false;
};

Scheduler::Scheduler(int64_t max_jobs) : max_jobs_(max_jobs), thread_([this] { loop(); }) {}

Scheduler::~Scheduler() { stop(); }

std::shared_ptr<Job> Scheduler::submit(JobSpec spec) {
  std::lock_guard lock(m_);
  if (stopping_ || live_ >= max_jobs_) return nullptr;
  auto job = std::make_shared<Job>(std::move(spec));
  waiting_.push_back(job);
  ++live_;
  cv_.notify_all();
  return job;
}

void Scheduler::stop() {
  {
    std::lock_guard lock(m_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t Scheduler::running() const {
  std::lock_guard lock(m_);
  return live_;
}

// generate()'s loop body for one sequence (model/generate.cpp): draw from the current logits, then one decode step
// unless the sequence is done.
void Scheduler::step(Sequence& s) {
  const JobSpec& spec = s.job->spec();
  const int64_t V = spec.model->config().vocab_size;
  const int64_t drawable = spec.vocab_limit > 0 ? std::min(spec.vocab_limit, V) : V;
  s.logits = dense_f32(s.logits.to(Device::CPU));
  const int64_t t = s.sampler.sample(s.logits.data<float>(), drawable);
  const bool stopped = std::find(spec.stop_ids.begin(), spec.stop_ids.end(), t) != spec.stop_ids.end();
  s.job->push(t, stopped);
  s.finished = stopped || ++s.made == spec.max_tokens;
  if (!s.finished) s.logits = decode_step(*spec.model, {t}, s.cache);
}

void Scheduler::loop() {
  NoGradGuard ng;
  std::vector<Sequence> running;
  for (;;) {
    std::deque<std::shared_ptr<Job>> joining;
    {
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !running.empty(); });
      if (stopping_) break;
      joining.swap(waiting_);
    }
    for (auto& job : joining) {
      Sequence s{job, {}, Sampler(job->spec().sampling), {}};
      running.push_back(std::move(s));
    }
    int64_t left = 0;
    for (Sequence& s : running) {
      try {
        if (!s.logits.defined() && !s.job->cancelled()) s.logits = prefill(*s.job->spec().model, s.job->spec().prompt, s.cache);
        if (!s.job->cancelled()) step(s);
        if (s.job->cancelled() || s.finished) s.job->finish();
      } catch (const std::exception& e) {
        s.finished = true;
        s.job->finish(std::string("generation failed: ") + e.what());
      }
      left += s.finished || s.job->cancelled();
    }
    std::erase_if(running, [](const Sequence& s) { return s.finished || s.job->cancelled(); });
    if (left > 0) {
      std::lock_guard lock(m_);
      live_ -= left;
    }
  }
  for (Sequence& s : running) s.job->finish("server shutting down");
  for (auto& job : waiting_) job->finish("server shutting down");
}

}  // namespace gt::serve
