#include "base/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gt {

namespace {

std::string num(double v, const char* format = "%.1f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Tick labels: short, and in exponent form only for very large or small values (learning rates).
std::string tick_label(double v) { return num(std::fabs(v) < 1e-12 ? 0.0 : v, "%.4g"); }

// A round step (1, 2 or 5 times a power of ten) giving about `count` intervals over `span`.
double round_step(double span, int count) {
  const double raw = span / count;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

void draw_swatch(std::ostream& os, const LegendItem& item, double x, double y) {
  switch (item.swatch) {
    case Swatch::Line:
      os << "<line x1=\"" << x << "\" y1=\"" << y << "\" x2=\"" << x + 16 << "\" y2=\"" << y << "\" stroke=\""
         << item.color << "\" stroke-width=\"2\"/>";
      break;
    case Swatch::Dot:
      os << "<circle cx=\"" << x + 8 << "\" cy=\"" << y << "\" r=\"5\" fill=\"" << item.color << "\"/>";
      break;
    case Swatch::Ring:
      os << "<circle cx=\"" << x + 8 << "\" cy=\"" << y << "\" r=\"5\" fill=\"white\" stroke=\"" << item.color
         << "\" stroke-width=\"1.5\"/>";
      break;
    case Swatch::Cross:
      os << "<text x=\"" << x + 8 << "\" y=\"" << y + 5 << "\" text-anchor=\"middle\" fill=\"" << item.color
         << "\" font-weight=\"bold\">×</text>";
      break;
  }
}

}  // namespace

std::string xml_escape(const std::string& s) {
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

std::string series_color(size_t i) {
  static const char* colors[] = {"#1f5fa8", "#d9731a", "#2a9d3a", "#c0392b", "#7d4fb0",
                                 "#8c564b", "#d35fb7", "#555555", "#a8a81f", "#17a2b8"};
  return colors[i % 10];
}

PlotRange padded_range(const std::vector<double>& ys) {
  double lo = INFINITY, hi = -INFINITY;
  for (double y : ys)
    if (std::isfinite(y)) lo = std::min(lo, y), hi = std::max(hi, y);
  if (!std::isfinite(lo)) return {0, 1};
  const double pad = hi > lo ? (hi - lo) * 0.1 : std::max(std::fabs(hi) * 0.1, 1e-3);
  return {lo >= 0 ? std::max(0.0, lo - pad) : lo - pad, hi + pad};
}

PlotRange x_range(const std::vector<double>& xs) {
  double lo = INFINITY, hi = -INFINITY;
  for (double x : xs)
    if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) return {0, 1};
  return hi > lo ? PlotRange{lo, hi} : PlotRange{lo - 1, hi + 1};
}

SvgPlot::SvgPlot(const Labels& labels, PlotRange x, PlotRange y, const std::vector<LegendItem>& legend)
    : x_(x), y_(y) {
  // The legend flows after the title (about 8 px a character at its size), wrapping onto further lines.
  std::ostringstream leg;
  double lx = left_ + 8.5 * static_cast<double>(labels.title.size()) + 24, ly = 18;
  for (const LegendItem& item : legend) {
    const double w = 26 + 7 * static_cast<double>(item.label.size());
    if (lx + w > width_ - right_) lx = left_, ly += 16;
    draw_swatch(leg, item, lx, ly);
    leg << "<text x=\"" << lx + 20 << "\" y=\"" << ly + 4 << "\">" << xml_escape(item.label) << "</text>\n";
    lx += w;
  }
  top_ += ly - 18;
  height_ += ly - 18;
  pw_ = width_ - left_ - right_;
  ph_ = height_ - top_ - bottom_;

  std::ostream& os = head_;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width_ << "\" height=\"" << height_
     << "\" viewBox=\"0 0 " << width_ << " " << height_ << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << left_ << "\" y=\"22\" font-size=\"15\">" << xml_escape(labels.title) << "</text>\n"
     << leg.str();
  for (int i = 0; i <= 4; ++i) {
    const double v = y_.lo + (y_.hi - y_.lo) * i / 4.0, py = Y(v);
    os << "<line x1=\"" << left_ << "\" y1=\"" << py << "\" x2=\"" << width_ - right_ << "\" y2=\"" << py
       << "\" stroke=\"#e4e4e4\"/><text class=\"ytick\" x=\"" << left_ - 6 << "\" y=\"" << py + 4
       << "\" text-anchor=\"end\">" << tick_label(v) << "</text>\n";
  }
  const double step = round_step(x_.hi - x_.lo, 6);
  for (double t = std::ceil(x_.lo / step) * step; t <= x_.hi + step * 1e-9; t += step)
    os << "<text class=\"xtick\" x=\"" << X(t) << "\" y=\"" << axis_y() + 18 << "\" text-anchor=\"middle\">"
       << tick_label(t) << "</text>\n";
  os << "<line x1=\"" << left_ << "\" y1=\"" << axis_y() << "\" x2=\"" << width_ - right_ << "\" y2=\"" << axis_y()
     << "\" stroke=\"#333\"/><line x1=\"" << left_ << "\" y1=\"" << top_ << "\" x2=\"" << left_ << "\" y2=\""
     << axis_y() << "\" stroke=\"#333\"/>\n";
  os << "<text class=\"xlabel\" x=\"" << left_ + pw_ / 2 << "\" y=\"" << height_ - 10
     << "\" text-anchor=\"middle\">" << xml_escape(labels.x) << "</text>\n";
  os << "<text class=\"ylabel\" transform=\"translate(16," << top_ + ph_ / 2
     << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(labels.y) << "</text>\n";
}

double SvgPlot::X(double x) const {
  const double inset = 12;  // keeps the first and last points off the plot's edges
  return left_ + inset + (pw_ - 2 * inset) * (x - x_.lo) / (x_.hi - x_.lo);
}

double SvgPlot::Y(double y) const { return top_ + ph_ * (y_.hi - y) / (y_.hi - y_.lo); }

void SvgPlot::line(const Points& points, const std::string& color) {
  std::string pts;
  for (const auto& [x, y] : points) pts += (pts.empty() ? "" : " ") + num(X(x)) + "," + num(Y(y));
  body_ << "<polyline class=\"series\" points=\"" << pts << "\" fill=\"none\" stroke=\"" << color
        << "\" stroke-width=\"1.5\"/>\n";
  if (points.size() == 1)
    body_ << "<circle cx=\"" << num(X(points[0].first)) << "\" cy=\"" << num(Y(points[0].second))
          << "\" r=\"3\" fill=\"" << color << "\"/>\n";
}

std::string SvgPlot::str() const { return head_.str() + body_.str() + "</svg>\n"; }

std::string line_chart_svg(const SvgPlot::Labels& labels, const std::vector<Series>& series) {
  std::vector<Series> drawn;
  std::vector<double> xs, ys;
  for (const Series& s : series) {
    Series finite{s.name, s.color, {}};
    for (const auto& [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) finite.points.emplace_back(x, y), xs.push_back(x), ys.push_back(y);
    if (!finite.points.empty()) drawn.push_back(std::move(finite));
  }
  std::vector<LegendItem> legend;
  if (drawn.size() > 1)
    for (const Series& s : drawn) legend.push_back({s.name, s.color, Swatch::Line});
  SvgPlot plot(labels, x_range(xs), padded_range(ys), legend);
  for (const Series& s : drawn) plot.line(s.points, s.color);
  return plot.str();
}

}  // namespace gt
