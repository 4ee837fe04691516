#pragma once
// The search as a person reads it: report.md (every trial in a table with its change, score and whether it was
// kept, then the best configuration and the settings) and score.svg (score by trial: kept trials, rejected ones,
// failures, and the best-so-far line), both rewritten atomically after every trial.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "research/history.h"

namespace gt::research {

std::string report_markdown(const std::vector<TrialRecord>& history, const nlohmann::json& settings);
// A self-contained SVG drawn here (no plotting library): one marker per trial, green filled when kept, grey hollow
// when scored but not better, a red cross on the axis when it failed; the best score so far as a step line.
std::string score_svg(const std::vector<TrialRecord>& history);
// Writes report.md and score.svg into `dir`.
void write_report(const std::filesystem::path& dir, const std::vector<TrialRecord>& history,
                  const nlohmann::json& settings);

}  // namespace gt::research
