#include "research/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "base/files.h"
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

std::string xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
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
  const double W = 720, H = 380, left = 70, right = 20, top = 40, bottom = 50;
  const double pw = W - left - right, ph = H - top - bottom;
  const int64_t n = std::max<int64_t>(2, static_cast<int64_t>(history.size()));
  double lo = INFINITY, hi = -INFINITY;
  for (const TrialRecord& r : history)
    if (r.score) lo = std::min(lo, *r.score), hi = std::max(hi, *r.score);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  const double pad = std::max((hi - lo) * 0.1, 0.005);
  lo = lo >= 0 ? std::max(0.0, lo - pad) : lo - pad;  // scores are Means in [0, 1]: no axis below 0 for them
  hi += pad;
  const double inset = 12;  // keeps the first and last markers off the plot's edges
  auto X = [&](int64_t t) {
    return left + inset + (pw - 2 * inset) * static_cast<double>(t) / static_cast<double>(n - 1);
  };
  auto Y = [&](double s) { return top + ph * (hi - s) / (hi - lo); };

  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
     << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << left << "\" y=\"22\" font-size=\"15\">Held-out score by trial</text>\n";
  // Legend.
  os << "<circle cx=\"" << W - 330 << "\" cy=\"18\" r=\"5\" fill=\"#2a9d3a\"/><text x=\"" << W - 320
     << "\" y=\"22\">kept</text>\n";
  os << "<circle cx=\"" << W - 270 << "\" cy=\"18\" r=\"5\" fill=\"white\" stroke=\"#777\" stroke-width=\"1.5\"/>"
     << "<text x=\"" << W - 260 << "\" y=\"22\">rejected</text>\n";
  os << "<text x=\"" << W - 192 << "\" y=\"22\" fill=\"#c0392b\" font-weight=\"bold\">×</text><text x=\"" << W - 180
     << "\" y=\"22\">failed</text>\n";
  os << "<line x1=\"" << W - 130 << "\" y1=\"18\" x2=\"" << W - 110
     << "\" y2=\"18\" stroke=\"#1f5fa8\" stroke-width=\"2\"/><text x=\"" << W - 104
     << "\" y=\"22\">best so far</text>\n";
  // Axes and grid.
  for (int i = 0; i <= 4; ++i) {
    const double s = lo + (hi - lo) * i / 4.0, y = Y(s);
    os << "<line x1=\"" << left << "\" y1=\"" << y << "\" x2=\"" << W - right << "\" y2=\"" << y
       << "\" stroke=\"#e4e4e4\"/><text x=\"" << left - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
       << fixed(s, 3) << "</text>\n";
  }
  const int64_t every = std::max<int64_t>(1, (n + 19) / 20);
  for (int64_t t = 0; t < static_cast<int64_t>(history.size()); t += every)
    os << "<text x=\"" << X(t) << "\" y=\"" << top + ph + 18 << "\" text-anchor=\"middle\">" << t << "</text>\n";
  os << "<line x1=\"" << left << "\" y1=\"" << top + ph << "\" x2=\"" << W - right << "\" y2=\"" << top + ph
     << "\" stroke=\"#333\"/><line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << top + ph
     << "\" stroke=\"#333\"/>\n";
  os << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 10 << "\" text-anchor=\"middle\">trial</text>\n";
  os << "<text transform=\"translate(16," << top + ph / 2
     << ") rotate(-90)\" text-anchor=\"middle\">held-out eval Mean</text>\n";
  // Best so far: flat until the next kept trial, then a step up.
  std::string path;
  std::optional<double> best;
  for (const TrialRecord& r : history) {
    if (r.accepted) {
      path += (path.empty() ? "M" : " L") + fixed(X(r.trial), 1) + "," + fixed(Y(best.value_or(*r.score)), 1);
      best = r.score;
      path += " L" + fixed(X(r.trial), 1) + "," + fixed(Y(*best), 1);
    } else if (best) {
      path += " L" + fixed(X(r.trial), 1) + "," + fixed(Y(*best), 1);
    }
  }
  if (!path.empty())
    os << "<path class=\"best\" d=\"" << path << "\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\"/>\n";
  // One marker per trial, with its change and result as a tooltip.
  for (const TrialRecord& r : history) {
    const std::string tip = "<title>" +
                            xml("trial " + std::to_string(r.trial) + ": " + change_of(r) + " — " +
                                (r.score ? "score " + fixed(*r.score, 4) + ", " : "") + result_of(r)) +
                            "</title>";
    if (!r.score) {
      os << "<text class=\"failed\" x=\"" << X(r.trial) << "\" y=\"" << top + ph - 4
         << "\" text-anchor=\"middle\" fill=\"#c0392b\" font-size=\"16\" font-weight=\"bold\">×" << tip << "</text>\n";
    } else if (r.accepted) {
      os << "<circle class=\"kept\" cx=\"" << X(r.trial) << "\" cy=\"" << Y(*r.score) << "\" r=\"6\" fill=\"#2a9d3a\">"
         << tip << "</circle>\n";
    } else {
      os << "<circle class=\"rejected\" cx=\"" << X(r.trial) << "\" cy=\"" << Y(*r.score)
         << "\" r=\"5\" fill=\"white\" stroke=\"#777\" stroke-width=\"1.5\">" << tip << "</circle>\n";
    }
  }
  os << "</svg>\n";
  return os.str();
}

void write_report(const std::filesystem::path& dir, const std::vector<TrialRecord>& history, const json& settings) {
  write_file_atomically(dir / "report.md", report_markdown(history, settings));
  write_file_atomically(dir / "score.svg", score_svg(history));
}

}  // namespace gt::research
