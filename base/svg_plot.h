#pragma once
// The one plotting module: SVG charts for every report (training curves, AutoResearch's score by trial). Written by
// hand rather than through a library: a chart here is a frame, a grid, tick labels, polylines and markers, and
// Debian packages no C++ library that draws plain line charts to SVG without a GUI toolkit or a separate program
// (gnuplot, matplotlib), which a report written at the end of a run should not need.
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace gt {

struct PlotRange {
  double lo = 0, hi = 1;
};

// How a legend entry is drawn: a line, a filled dot, a ring, a cross.
enum class Swatch { Line, Dot, Ring, Cross };
struct LegendItem {
  std::string label, color;
  Swatch swatch = Swatch::Line;
};

using Points = std::vector<std::pair<double, double>>;  // (x, y)

class SvgPlot {
 public:
  struct Labels {
    std::string title, x, y;
  };
  // A 720 x 380 chart whose plotting area spans `x` and `y` (ticks at round values on x, five labels on y); the
  // legend flows after the title, on more lines when it must.
  SvgPlot(const Labels& labels, PlotRange x, PlotRange y, const std::vector<LegendItem>& legend);
  double X(double x) const;
  double Y(double y) const;
  double axis_y() const { return top_ + ph_; }  // where the x axis runs
  // `points` as one polyline (class "series"); a single point also gets a dot, so it shows.
  void line(const Points& points, const std::string& color);
  // The caller's own marks (markers, tooltips), in plot coordinates through X and Y.
  std::ostream& body() { return body_; }
  // The finished document.
  std::string str() const;

 private:
  double width_ = 720, height_ = 380, left_ = 70, right_ = 20, top_ = 40, bottom_ = 50, pw_ = 0, ph_ = 0;
  PlotRange x_, y_;
  std::ostringstream head_, body_;
};

// The y range of a chart of `ys`, padded by a tenth of the spread; never padded below 0 when no value is (losses,
// rates and scores are not negative). Non-finite values are ignored; none at all gives [0, 1].
PlotRange padded_range(const std::vector<double>& ys);
// The x range of `xs` (none, or one value, widened so the range is not empty).
PlotRange x_range(const std::vector<double>& xs);

// A line chart: one polyline per series with points (series without any are left out of chart and legend).
struct Series {
  std::string name, color;
  Points points;
};
std::string line_chart_svg(const SvgPlot::Labels& labels, const std::vector<Series>& series);

// `s` with &, <, > and " escaped for XML text and attributes.
std::string xml_escape(const std::string& s);
// A color for the i-th series of a chart, distinct for the first ten.
std::string series_color(size_t i);

}  // namespace gt
