#include "base/yaml_file.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <vector>

#include "base/error.h"
#include "base/files.h"
#include "base/json_file.h"
#include "base/utf8.h"

namespace gt {

using nlohmann::json;

namespace {

const std::string kStrTag = "tag:yaml.org,2002:str";

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// A number YAML spells and JSON does not ("+2", ".5", "5.", "007"), in JSON's spelling.
std::string json_number_text(const std::string& s) {
  std::string t = s[0] == '+' ? s.substr(1) : s;
  const std::size_t sign = t[0] == '-' ? 1 : 0;
  if (t[sign] == '.') t.insert(sign, "0");
  const std::size_t point = t.find('.');
  if (point != std::string::npos && (point + 1 == t.size() || !is_digit(t[point + 1]))) t.insert(point + 1, "0");
  // Leading zeros read as the decimal number they spell; one stays before a point or alone.
  const std::size_t digits = std::min(t.find_first_not_of('0', sign), t.size());
  const bool digit_follows = digits < t.size() && is_digit(t[digits]);
  t.erase(sign, digits - sign - (digit_follows || digits == sign ? 0 : 1));
  return t;
}

// Text that is not UTF-8 (invalid_utf8_at, base/utf8.h) is refused in the whole input and again in every scalar:
// yaml-cpp passes such bytes through into strings, and makes them from escapes and other encodings it detects;
// nlohmann::json then refuses to write them (a raw type_error when the run saves its settings), as its parser
// would have refused them.
struct Converter {
  std::string origin;
  std::size_t values_left;

  [[noreturn]] void bad(const YAML::Node& n, const std::string& why) const {
    fail(origin, ":", n.Mark().line + 1, ": ", why);
  }

  void check_utf8(const YAML::Node& n) const {
    if (invalid_utf8_at(n.Scalar()) != std::string_view::npos) bad(n, "a value is not UTF-8 (after its escapes)");
  }

  // A plain scalar, resolved as the YAML 1.2 core schema does.
  json plain(const YAML::Node& n) const {
    static const std::regex kNull("~|null|Null|NULL|");
    static const std::regex kTrue("true|True|TRUE"), kFalse("false|False|FALSE");
    static const std::regex kInt("[-+]?[0-9]+");
    static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
    static const std::regex kSpecial("[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
    const std::string& s = n.Scalar();
    if (std::regex_match(s, kNull)) return nullptr;
    if (std::regex_match(s, kTrue)) return true;
    if (std::regex_match(s, kFalse)) return false;
    if (std::regex_match(s, kSpecial)) bad(n, "'" + s + "' has no JSON value (no infinities or NaNs in a config)");
    if (!std::regex_match(s, kInt) && !std::regex_match(s, kFloat)) return s;
    json v;
    if (const auto e = try_parse_json(json_number_text(s), v)) bad(n, "the number " + s + ": " + e->reason);
    return v;
  }

  json scalar(const YAML::Node& n) const {
    check_utf8(n);
    const std::string& tag = n.Tag();
    if (tag == "!" || tag == kStrTag) return n.Scalar();  // quoted, or tagged a string
    if (tag == "?") return plain(n);
    bad(n, "tag " + tag + " is not supported");
  }

  // One level at a time with an explicit stack: no recursion, whatever the nesting.
  json convert(const YAML::Node& root) {
    struct Item {
      YAML::Node node;
      json* out;
      std::size_t depth;
    };
    json result;
    std::vector<Item> stack{{root, &result, 0}};
    while (!stack.empty()) {
      Item it = std::move(stack.back());
      stack.pop_back();
      if (values_left-- == 0) bad(it.node, "more values than the text has bytes (aliases expanding into a huge tree?)");
      if (it.depth > kMaxJsonDepth) bad(it.node, "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      switch (it.node.Type()) {
        case YAML::NodeType::Undefined:
        case YAML::NodeType::Null: *it.out = nullptr; break;
        case YAML::NodeType::Scalar: *it.out = scalar(it.node); break;
        case YAML::NodeType::Sequence:
          *it.out = json::array();
          it.out->get_ref<json::array_t&>().resize(it.node.size());
          for (std::size_t i = 0; i < it.node.size(); ++i) stack.push_back({it.node[i], &(*it.out)[i], it.depth + 1});
          break;
        case YAML::NodeType::Map:
          *it.out = json::object();
          for (const auto& kv : it.node) {
            if (!kv.first.IsScalar()) bad(kv.first, "a key must be a plain string");
            check_utf8(kv.first);
            const std::string& key = kv.first.Scalar();
            if (it.out->contains(key)) bad(kv.first, "duplicate key '" + key + "'");
            stack.push_back({kv.second, &(*it.out)[key], it.depth + 1});
          }
          break;
      }
    }
    return result;
  }
};

}  // namespace

json parse_yaml(std::string_view text, std::string_view origin) {
  if (const size_t at = invalid_utf8_at(text); at != std::string_view::npos)
    fail(origin, ":", std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n') + 1,
         ": invalid YAML: not UTF-8 (byte ", at, ")");
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    fail(origin, ":", e.mark.line + 1, ": invalid YAML: nested deeper than ", e.depth(), " levels");
  } catch (const YAML::Exception& e) {
    fail(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": invalid YAML: ", e.msg);
  }
  Converter c{std::string(origin), text.size() + 1};
  try {
    return c.convert(root);
  } catch (const YAML::Exception& e) {
    fail(origin, ":", e.mark.line + 1, ": invalid YAML: ", e.msg);
  }
}

json read_yaml_file(const std::filesystem::path& path) { return parse_yaml(read_text_file(path), path.string()); }

bool is_yaml_path(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

}  // namespace gt
