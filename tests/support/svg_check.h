#pragma once
// Checks of the SVG the reports write (base/svg_plot.h).
#include <algorithm>
#include <cctype>
#include <regex>
#include <string>
#include <vector>

namespace gt::testing {

// Well-formedness (no XML library is among the dependencies): every tag closed in order, attributes quoted, and &
// only as an entity. Returns what is wrong, or "" when nothing is.
inline std::string xml_problem(const std::string& s) {
  std::vector<std::string> open;
  auto entity_ok = [&](size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
      if (s.compare(at, std::string(e).size(), e) == 0) return true;
    return false;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&' && !entity_ok(i)) return "a bare & at " + std::to_string(i);
    if (s[i] == '>') return "a bare > at " + std::to_string(i);
    if (s[i] != '<') continue;
    const bool closing = i + 1 < s.size() && s[i + 1] == '/';
    size_t j = i + (closing ? 2 : 1);
    const size_t name_at = j;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '-' || s[j] == ':')) ++j;
    const std::string name = s.substr(name_at, j - name_at);
    if (name.empty()) return "a tag without a name at " + std::to_string(i);
    // Attributes: name="value" pairs up to > or />.
    while (j < s.size() && s[j] != '>' && !(s[j] == '/' && j + 1 < s.size() && s[j + 1] == '>')) {
      if (std::isspace(static_cast<unsigned char>(s[j]))) {
        ++j;
        continue;
      }
      while (j < s.size() && s[j] != '=' && s[j] != '>' && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size() || s[j] != '=' || j + 1 >= s.size() || s[j + 1] != '"')
        return "an unquoted attribute in <" + name + "> at " + std::to_string(i);
      const size_t end = s.find('"', j + 2);
      if (end == std::string::npos) return "an unterminated attribute in <" + name + ">";
      for (size_t k = j + 2; k < end; ++k) {
        if (s[k] == '<') return "a < inside an attribute of <" + name + ">";
        if (s[k] == '&' && !entity_ok(k)) return "a bare & inside an attribute of <" + name + ">";
      }
      j = end + 1;
    }
    if (j >= s.size()) return "an unterminated <" + name + ">";
    const bool self_closing = s[j] == '/';
    i = self_closing ? j + 1 : j;
    if (closing) {
      if (open.empty() || open.back() != name)
        return "</" + name + "> does not close " + (open.empty() ? "anything" : "<" + open.back() + ">");
      open.pop_back();
      if (open.empty() && s.find('<', i) != std::string::npos) return "content after the root element";
    } else if (!self_closing) {
      open.push_back(name);
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> is never closed";
}

// The number of points of each series polyline, in order.
inline std::vector<size_t> polyline_sizes(const std::string& svg) {
  std::vector<size_t> out;
  const std::regex re("<polyline class=\"series\" points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it) {
    const std::string pts = (*it)[1];
    out.push_back(pts.empty() ? 0 : static_cast<size_t>(std::count(pts.begin(), pts.end(), ' ')) + 1);
  }
  return out;
}

}  // namespace gt::testing
