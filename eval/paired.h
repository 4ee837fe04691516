#pragma once
// Two evals of the same samples compared sample by sample. On 100 held-out samples a Mean moves by a few hundredths
// from noise alone, so a side-by-side table needs to say whether its difference is one the samples can tell from
// zero: how many samples scored better, worse and the same, and a paired bootstrap interval of the Mean difference.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace gt::eval {

// Per-sample score (reward / max_reward, the quantity the Mean averages) by sample id.
using SampleScores = std::map<std::string, double>;

// Reads a report folder's per-sample scores: completions.jsonl's "reward" of each line over the max reward of the
// weights that report.json records. Errors (gt::Error) name the file and line.
SampleScores read_sample_scores(const std::filesystem::path& report_json);

// True when both reports have their completions.jsonl beside them (a report.json alone still compares by totals).
bool has_sample_scores(const std::filesystem::path& report_json);

struct PairedComparison {
  std::size_t n = 0, better = 0, worse = 0, same = 0;  // B against A, per sample
  double mean_difference = 0;                           // Mean(B) - Mean(A)
  // The 2.5% and 97.5% percentiles of the mean difference over `resamples` bootstrap resamples of the samples
  // (each resample draws n sample indices with replacement and keeps the pairs together).
  double low = 0, high = 0;
  double share_not_above_zero = 0;  // of the resamples, those whose mean difference is <= 0
  int resamples = 0;
};

// The two must score the same sample ids; an id in one and not the other is an error naming it and the label.
// The seed is fixed, so the same inputs give the same interval.
PairedComparison compare_paired(const SampleScores& a, const std::string& label_a, const SampleScores& b,
                                const std::string& label_b, int resamples = 10000, uint64_t seed = 1);

// A few lines of Markdown for the side-by-side report.
std::string markdown_paired(const PairedComparison& p);

// Two report.json files side by side (markdown_compare), followed by the per-sample comparison when both have their
// completions.jsonl beside them.
std::string markdown_compare_reports(const std::filesystem::path& a, const std::string& label_a,
                                     const std::filesystem::path& b, const std::string& label_b);

}  // namespace gt::eval
