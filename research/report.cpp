#include "research/report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "base/files.h"
#include "base/svg_plot.h"
#include "research/space.h"
#include "train/run_log.h"

namespace gt::research {

using nlohmann::json;

namespace {

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Table cells: one line, no column breaks, not too long to read.
std::string cell(std::string s, std::size_t limit = 160) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (s.size() > limit) s = s.substr(0, limit) + "...";
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string change_of(const TrialRecord& r) {
  if (r.params.is_null()) return "";
  if (r.changed.empty()) return "initial configuration";
  return r.changed + " " + format_value(r.previous) + " → " + format_value(r.params.at(r.changed));
}

std::string result_of(const TrialRecord& r) {
  if (r.accepted) return "**kept**";
  if (!r.failure.empty()) return "rejected: " + r.failure;
  return "rejected (not better)";
}

}  // namespace

std::string report_markdown(const std::vector<TrialRecord>& history, const json& settings) {
  std::ostringstream os;
  os << "# AutoResearch\n\n";
  const TrialRecord* best = best_trial(history);
  const auto kept = std::count_if(history.begin(), history.end(), [](const TrialRecord& r) { return r.accepted; });
  const auto failed =
      std::count_if(history.begin(), history.end(), [](const TrialRecord& r) { return !r.failure.empty(); });
  os << history.size() << " trials: " << kept << " kept, " << history.size() - static_cast<std::size_t>(kept)
     << " rejected (" << failed << " of them failed). ";
  if (best)
    os << "Best: trial " << best->trial << ", score " << fixed(*best->score, 4) << ".\n\n";
  else
    os << "No trial has scored yet.\n\n";
  os << "![score by trial](score.svg)\n\n";
  os << "| trial | proposer | change | score | best before | result | time |\n";
  os << "|---:|---|---|---:|---:|---|---:|\n";
  for (const TrialRecord& r : history) {
    os << "| " << r.trial << " | " << r.proposer << " | " << cell(change_of(r)) << " | "
       << (r.score ? fixed(*r.score, 4) : "–") << " | " << (r.best_before ? fixed(*r.best_before, 4) : "–") << " | "
       << cell(result_of(r)) << " | " << train::format_duration(r.duration_s) << " |\n";
  }
  if (best) {
    os << "\n## Best configuration (trial " << best->trial << ")\n\n| parameter | value | initial |\n|---|---|---|\n";
    const json& initial = history.front().params.is_null() ? best->params : history.front().params;
    for (auto it = best->params.begin(); it != best->params.end(); ++it)
      os << "| " << it.key() << " | " << format_value(it.value()) << " | "
         << (initial.contains(it.key()) ? format_value(initial.at(it.key())) : "") << " |\n";
    if (!best->weights.empty()) os << "\nWeights: `" << best->weights << "`\n";
  }
  os << "\n## Settings\n\n```json\n" << settings.dump(2) << "\n```\n";
  return os.str();
}

std::string score_svg(const std::vector<TrialRecord>& history) {
  const int64_t n = std::max<int64_t>(2, static_cast<int64_t>(history.size()));
  std::vector<double> scores;
  for (const TrialRecord& r : history)
    if (r.score) scores.push_back(*r.score);
  const PlotRange y = scores.empty() ? PlotRange{0, 1} : padded_range(scores);
  SvgPlot plot({"Held-out score by trial", "trial", "held-out eval Mean"}, {0, static_cast<double>(n - 1)}, y,
               {{"kept", "#2a9d3a", Swatch::Dot},
                {"rejected", "#777", Swatch::Ring},
                {"failed", "#c0392b", Swatch::Cross},
                {"best so far", "#1f5fa8", Swatch::Line}});
  std::ostream& os = plot.body();
  // Best so far: flat until the next kept trial, then a step up.
  std::string path;
  std::optional<double> best;
  for (const TrialRecord& r : history) {
    const auto t = static_cast<double>(r.trial);
    if (r.accepted) {
      path += (path.empty() ? "M" : " L") + fixed(plot.X(t), 1) + "," + fixed(plot.Y(best.value_or(*r.score)), 1);
      best = r.score;
      path += " L" + fixed(plot.X(t), 1) + "," + fixed(plot.Y(*best), 1);
    } else if (best) {
      path += " L" + fixed(plot.X(t), 1) + "," + fixed(plot.Y(*best), 1);
    }
  }
  if (!path.empty())
    os << "<path class=\"best\" d=\"" << path << "\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\"/>\n";
  // One marker per trial, with its change and result as a tooltip.
  for (const TrialRecord& r : history) {
    const auto t = static_cast<double>(r.trial);
    const std::string tip = "<title>" +
                            xml_escape("trial " + std::to_string(r.trial) + ": " + change_of(r) + " — " +
                                       (r.score ? "score " + fixed(*r.score, 4) + ", " : "") + result_of(r)) +
                            "</title>";
    if (!r.score) {
      os << "<text class=\"failed\" x=\"" << plot.X(t) << "\" y=\"" << plot.axis_y() - 4
         << "\" text-anchor=\"middle\" fill=\"#c0392b\" font-size=\"16\" font-weight=\"bold\">×" << tip << "</text>\n";
    } else if (r.accepted) {
      os << "<circle class=\"kept\" cx=\"" << plot.X(t) << "\" cy=\"" << plot.Y(*r.score)
         << "\" r=\"6\" fill=\"#2a9d3a\">" << tip << "</circle>\n";
    } else {
      os << "<circle class=\"rejected\" cx=\"" << plot.X(t) << "\" cy=\"" << plot.Y(*r.score)
         << "\" r=\"5\" fill=\"white\" stroke=\"#777\" stroke-width=\"1.5\">" << tip << "</circle>\n";
    }
  }
  return plot.str();
}

void write_report(const std::filesystem::path& dir, const std::vector<TrialRecord>& history, const json& settings) {
  write_file_atomically(dir / "report.md", report_markdown(history, settings));
  write_file_atomically(dir / "score.svg", score_svg(history));
}

}  // namespace gt::research
