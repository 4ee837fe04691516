#include "research/ratchet.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <regex>
#include <sstream>

#include "base/checked.h"
#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "research/report.h"
#include "train/run_log.h"

namespace gt::research {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string score_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", s);
  return buf;
}

// search.json holds the identity; a resume must bring the same one.
void check_identity(const fs::path& out_dir, const json& identity) {
  const fs::path file = out_dir / "search.json";
  if (!fs::exists(file)) {
    write_file_atomically(file, json{{"identity", identity}}.dump(2) + "\n");
    return;
  }
  const json saved = read_json_file(file).value("identity", json());
  if (saved == identity) return;
  std::string diff;
  int n = 0;
  for (const json& op : json::diff(saved, identity))
    if (n++ < 8) diff += (diff.empty() ? "" : ", ") + op.value("path", "?").substr(1);
  fail(file.string(), ": this search was started with other settings (", diff,
       "); its scores would not compare with new ones. Use another out_dir, or the settings it was started with");
}

// Deletes the folders of trials the history does not hold: trials interrupted before they were recorded.
void discard_unrecorded(const fs::path& out_dir, int64_t recorded, std::ostream* progress) {
  static const std::regex name(R"(trial-(\d+))");
  for (const auto& e : fs::directory_iterator(out_dir)) {
    std::smatch m;
    const std::string n = e.path().filename().string();
    if (!e.is_directory() || !std::regex_match(n, m, name) ||
        parse_int64(m[1].str()).value_or(INT64_MAX) < recorded)
      continue;
    fs::remove_all(e.path());
    if (progress) *progress << "research: discarded " << n << ", left unfinished by an interrupted run\n";
  }
}

// Every trial but the best gives up its weights. Folders first, then the records, so a record never names a
// folder that an interruption left half-deleted for long: the next trial's pass finishes the job.
void drop_weights(const fs::path& out_dir, std::vector<TrialRecord>& history) {
  const TrialRecord* best = best_trial(history);
  for (TrialRecord& r : history) {
    if (&r == best || r.weights.empty()) continue;
    fs::remove_all(out_dir / r.weights);
    r.weights.clear();
  }
}

class Ratchet {
 public:
  Ratchet(const SearchSpace& space, Trainer& trainer, Proposer& proposer, const RatchetOptions& o)
      : space_(space), trainer_(trainer), proposer_(proposer), o_(o) {}

  RatchetResult run() {
    GT_CHECK(o_.iterations >= 1, "research: iterations must be at least 1, got ", o_.iterations);
    fs::create_directories(o_.out_dir);
    check_identity(o_.out_dir, o_.identity);
    RatchetResult res;
    res.history = read_history(history_path());
    auto& h = res.history;
    discard_unrecorded(o_.out_dir, static_cast<int64_t>(h.size()), o_.progress);
    if (!h.empty())
      say("resuming after trial " + std::to_string(h.size() - 1) + " of " + std::to_string(o_.iterations));
    while (static_cast<int64_t>(h.size()) < o_.iterations) {
      if (stop_requested()) break;
      std::optional<TrialRecord> r = trial(static_cast<int64_t>(h.size()), h);
      if (!r) break;
      h.push_back(std::move(*r));
      drop_weights(o_.out_dir, h);
      write_history(history_path(), h);
      write_best(o_.out_dir / "best.json", h);
      write_report(o_.out_dir, h, o_.identity);
      ++res.ran;
      ++ran_;
      ran_seconds_ += h.back().duration_s;
      announce_result(h.back());
    }
    write_report(o_.out_dir, h, o_.identity);
    res.stopped = static_cast<int64_t>(h.size()) < o_.iterations;
    return res;
  }

 private:
  fs::path history_path() const { return o_.out_dir / "history.jsonl"; }
  bool stop_requested() const { return o_.stop && o_.stop->load(); }
  void say(const std::string& line) const {
    if (o_.progress) *o_.progress << "research: " << line << std::endl;
  }
  std::string counter(int64_t t) const {
    return "[" + std::to_string(t + 1) + "/" + std::to_string(o_.iterations) + "] " + trial_dir_name(t);
  }

  // One trial, or nothing when a stop request interrupted it.
  std::optional<TrialRecord> trial(int64_t t, const std::vector<TrialRecord>& history) {
    const auto t0 = Clock::now();
    const TrialRecord* best = best_trial(history);
    ProposalContext ctx{t, &space_, best ? best->params : space_.initial(),
                        best ? best->score : std::optional<double>(), &history};
    TrialRecord r;
    r.trial = t;
    r.best_before = ctx.best_score;
    Proposal p;
    if (t == 0) {
      r.proposer = "initial";
      p.params = space_.initial();
    } else {
      r.proposer = proposer_.name();
      try {
        p = proposer_.propose(ctx);
        p = space_.check(p.params, ctx.best_params);  // the built-in mutator is held to the same rule
      } catch (const std::exception& e) {
        r.failure = std::string("proposal refused: ") + e.what();
      }
    }
    if (r.failure.empty()) {
      r.params = p.params;
      r.changed = p.changed;
      if (!p.changed.empty()) r.previous = ctx.best_params.at(p.changed);
      say(counter(t) + " [" + r.proposer + "] " + change_text(r) +
          (best ? " (best " + score_text(*best->score) + " from trial " + std::to_string(best->trial) + ")" : ""));
      const fs::path dir = o_.out_dir / trial_dir_name(t);
      fs::remove_all(dir);
      fs::create_directories(dir);
      write_file_atomically(dir / "params.json", p.params.dump(2) + "\n");
      try {
        TrialResult res = trainer_.run(p.params, dir, o_.budget, o_.stop);
        if (stop_requested()) return std::nullopt;
        if (std::isfinite(res.score))
          r.score = res.score;
        else
          r.failure = "the score is not finite (" + std::to_string(res.score) + ")";
        if (!res.weights.empty()) r.weights = fs::relative(res.weights, o_.out_dir).string();
        r.details = std::move(res.details);
      } catch (const std::exception& e) {
        if (stop_requested()) return std::nullopt;
        r.failure = e.what();
      }
    }
    r.accepted = r.score && (!r.best_before || *r.score > *r.best_before);
    r.duration_s = std::chrono::duration<double>(Clock::now() - t0).count();
    r.ended = utc_now();
    return r;
  }

  static std::string change_text(const TrialRecord& r) {
    if (r.changed.empty()) return "initial configuration";
    return r.changed + " " + format_value(r.previous) + " -> " + format_value(r.params.at(r.changed));
  }

  void announce_result(const TrialRecord& r) const {
    if (!o_.progress) return;
    std::ostringstream os;
    os << counter(r.trial) << " [" << r.proposer << "] ";
    if (!r.params.is_null()) os << change_text(r) << ": ";
    if (r.score)
      os << "score " << score_text(*r.score);
    else
      os << "failed (" << (r.failure.size() > 300 ? r.failure.substr(0, 300) + "..." : r.failure) << ")";
    const double best = r.accepted ? *r.score : r.best_before.value_or(NAN);
    os << ", best " << (std::isnan(best) ? std::string("none") : score_text(best)) << ", "
       << (r.accepted ? "KEPT" : "rejected") << " | " << train::format_duration(r.duration_s);
    const int64_t left = o_.iterations - r.trial - 1;
    if (left > 0) os << ", ETA " << train::format_duration(ran_seconds_ / static_cast<double>(ran_) * left);
    say(os.str());
  }

  const SearchSpace& space_;
  Trainer& trainer_;
  Proposer& proposer_;
  const RatchetOptions& o_;
  double ran_seconds_ = 0;  // over the trials this call ran, for the ETA
  int64_t ran_ = 0;
};

}  // namespace

std::string trial_dir_name(int64_t trial) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "trial-%04lld", static_cast<long long>(trial));
  return buf;
}

RatchetResult run_ratchet(const SearchSpace& space, Trainer& trainer, Proposer& proposer, const RatchetOptions& o) {
  return Ratchet(space, trainer, proposer, o).run();
}

void check_space(const SearchSpace& space, const Trainer& trainer, const std::string& source) {
  const json initial = space.initial();
  try {
    trainer.check(initial);
  } catch (const std::exception& e) {
    fail(source, ": the ", trainer.name(), " trainer refuses the space's initial configuration: ", e.what());
  }
  for (const Param& p : space.params())
    for (const json& v : p.corner_values()) {
      json params = initial;
      params[p.name] = v;
      try {
        trainer.check(params);
      } catch (const std::exception& e) {
        fail(source, ": 'space.", p.name, "' = ", format_value(v), ": the ", trainer.name(),
             " trainer refuses it: ", e.what());
      }
    }
}

}  // namespace gt::research
