#pragma once
// Continuous batching over the KV-cache inference path (docs/serve.md "Batching"): one thread runs the model; a
// request joins between steps (its prompt's prefill, then a decode step each round) and leaves when it stops, runs
// out of tokens or is cancelled (its client went away).
//
// Each sequence keeps its own KV cache and a round steps every running sequence once, one [1, 1] decode each. A
// KVCache holds one length for all its rows (model/kv_cache.h), so sequences of different lengths cannot share a
// forward; stepping them one by one keeps every request's tokens bit-identical to `gemma-tune generate`'s for the
// same prompt and settings, whatever else is running (a batched GEMM could round a row differently with another
// batch size).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/gemma4.h"
#include "model/sampler.h"

namespace gt::serve {

struct JobSpec {
  const Gemma4* model = nullptr;  // the base or one of its adapters; outlives the scheduler
  std::vector<int64_t> prompt;
  SamplingOptions sampling;
  int64_t max_tokens = 1;
  int64_t vocab_limit = 0;  // as GenerateOptions::vocab_limit
  std::vector<int64_t> stop_ids;
};

// One request as the scheduler runs it, and the channel its tokens come back through.
class Job {
 public:
  explicit Job(JobSpec spec) : spec_(std::move(spec)) {}
  const JobSpec& spec() const { return spec_; }

  struct Snapshot {
    std::vector<int64_t> tokens;  // every new token so far, the stop token included
    bool done = false;
    bool stopped = false;  // ended on a stop id (false: max_tokens, cancelled or an error)
    std::string error;     // set when the model failed or the server shut down
  };
  // Waits until there are more than `seen` tokens or the job is done (or `timeout_ms` passed), then returns its state.
  Snapshot wait(size_t seen, int timeout_ms) const;
  // The client is gone or wants no more: the scheduler drops the sequence before its next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // The scheduler's side.
  void push(int64_t token, bool stopped);
  void finish(const std::string& error = {});

 private:
  JobSpec spec_;
  mutable std::mutex m_;
  mutable std::condition_variable cv_;
  Snapshot state_;
  std::atomic<bool> cancelled_{false};
};

class Scheduler {
 public:
  // At most `max_jobs` jobs waiting or running at once.
  explicit Scheduler(int64_t max_jobs);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Null when max_jobs are already in (the server answers 429).
  std::shared_ptr<Job> submit(JobSpec spec);
  // Ends every job (error "server shutting down") and the thread; later submits return null.
  void stop();
  int64_t running() const;

 private:
  struct Sequence;
  void loop();
  void step(Sequence& s);

  const int64_t max_jobs_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> waiting_;
  int64_t live_ = 0;  // waiting or running
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gt::serve
