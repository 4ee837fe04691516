// The one plotting module (base/svg_plot.h): well-formed SVG, a polyline per series with one point per value, the
// axis labels, and nothing that breaks on an empty, a single-point or a non-finite series.
#include <gtest/gtest.h>

#include <cmath>

#include "base/svg_plot.h"
#include "support/svg_check.h"

using namespace gt;
using gt::testing::polyline_sizes;
using gt::testing::xml_problem;

TEST(SvgPlot, LineChartIsWellFormedWithOnePolylinePointPerValueAndItsAxisLabels) {
  Points loss, eval;
  for (int s = 1; s <= 37; ++s) loss.emplace_back(s, 3.0 / s);
  for (int s = 0; s <= 36; s += 12) eval.emplace_back(s, 2.0 / (s + 1));
  const std::string svg =
      line_chart_svg({"Loss & held-out <loss>", "step", "loss"}, {{"loss", "#111", loss}, {"eval_loss", "#222", eval}});
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(polyline_sizes(svg), (std::vector<size_t>{37, 4}));
  EXPECT_NE(svg.find("class=\"xlabel\" x=\"385\" y=\"370\" text-anchor=\"middle\">step</text>"), std::string::npos)
      << svg;
  EXPECT_NE(svg.find("text-anchor=\"middle\">loss</text>"), std::string::npos);
  EXPECT_NE(svg.find("Loss &amp; held-out &lt;loss&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">eval_loss</text>"), std::string::npos) << "two series: a legend";
  // The x ticks are round steps within 0..37.
  for (const char* t : {"\">0</text>", "\">10</text>", "\">30</text>"}) EXPECT_NE(svg.find(t), std::string::npos) << t;
  EXPECT_EQ(svg.find("\">40</text>"), std::string::npos);
}

TEST(SvgPlot, EmptySinglePointAndNonFiniteSeriesDoNotBreakIt) {
  const std::string none = line_chart_svg({"t", "step", "v"}, {});
  EXPECT_EQ(xml_problem(none), "");
  EXPECT_TRUE(polyline_sizes(none).empty());
  const std::string empty = line_chart_svg({"t", "step", "v"}, {{"a", "#111", {}}});
  EXPECT_EQ(xml_problem(empty), "");
  EXPECT_TRUE(polyline_sizes(empty).empty());
  const std::string one = line_chart_svg({"t", "step", "v"}, {{"a", "#111", {{5, 0.25}}}, {"b", "#222", {}}});
  EXPECT_EQ(xml_problem(one), "") << one;
  EXPECT_EQ(polyline_sizes(one), (std::vector<size_t>{1}));
  EXPECT_NE(one.find("<circle"), std::string::npos) << "a lone point is drawn as a dot";
  EXPECT_EQ(one.find("nan"), std::string::npos) << one;
  const std::string flat = line_chart_svg({"t", "step", "v"}, {{"a", "#111", {{1, 2.0}, {2, 2.0}, {3, NAN}}}});
  EXPECT_EQ(xml_problem(flat), "");
  EXPECT_EQ(polyline_sizes(flat), (std::vector<size_t>{2}));
  EXPECT_EQ(flat.find("nan"), std::string::npos) << flat;
  EXPECT_EQ(flat.find("inf"), std::string::npos) << flat;
}

TEST(SvgPlot, RangesArePaddedAndStayAtOrAboveZeroForNonNegativeData) {
  const PlotRange r = padded_range({0.1, 0.5});
  EXPECT_DOUBLE_EQ(r.lo, 0.06);
  EXPECT_DOUBLE_EQ(r.hi, 0.54);
  EXPECT_EQ(padded_range({0.0, 1.0}).lo, 0.0);
  EXPECT_LT(padded_range({-1.0, 1.0}).lo, -1.0);
  EXPECT_LT(padded_range({2.0}).lo, 2.0);
  EXPECT_GT(padded_range({2.0}).hi, 2.0);
  EXPECT_EQ(padded_range({}).hi, 1.0);
  EXPECT_EQ(x_range({4}).lo, 3.0);
}

TEST(XmlCheck, CatchesWhatItIsFor) {
  EXPECT_EQ(xml_problem("<a><b/></a>"), "");
  EXPECT_NE(xml_problem("<a><b></a>"), "");
  EXPECT_NE(xml_problem("<a x=1></a>"), "");
  EXPECT_NE(xml_problem("<a>&</a>"), "");
  EXPECT_NE(xml_problem("<a>"), "");
}
