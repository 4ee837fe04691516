// The SAX pass over tokenizer.json that tokenizer_load.cpp builds the tokenizer from.
#include "data/tokenizer_json.h"

#include "base/error.h"
#include "base/json_file.h"
#include "data/tokenizer.h"

namespace gt::data {

namespace {

using json = nlohmann::json;
using tok::Span;

class Reader final : public nlohmann::json_sax<json>, public tok::TokenizerJson {
 public:
  std::string error;  // why a handler stopped the parse

  bool null() override { return scalar(json(nullptr), "null"); }
  bool boolean(bool v) override { return scalar(json(v), "a boolean"); }
  bool number_integer(number_integer_t v) override { return scalar(json(v), "a negative number"); }
  bool number_unsigned(number_unsigned_t v) override {
    if (where() == Where::Vocab) {
      vocab.emplace_back(vocab_key_, v);
      return true;
    }
    return scalar(json(v), "a number");
  }
  bool number_float(number_float_t v, const string_t&) override { return scalar(json(v), "a number"); }
  bool binary(binary_t&) override { return fail("unexpected binary value"); }

  bool string(string_t& s) override {
    switch (where()) {
      case Where::Merges: {
        size_t sp = s.find(' ');
        if (sp == string_t::npos || s.find(' ', sp + 1) != string_t::npos)
          return fail(merge_path() + ": \"" + s + "\" is not two tokens separated by one space");
        Span a = append(merge_text, std::string_view(s).substr(0, sp));
        Span b = append(merge_text, std::string_view(s).substr(sp + 1));
        merges.emplace_back(a, b);
        return true;
      }
      case Where::MergePair:
        if (pair_parts_ >= 2) return fail(merge_path() + ": a merge has exactly two tokens");
        pair_[pair_parts_++] = append(merge_text, s);
        return true;
      default:
        return scalar(json(std::move(s)), "a string");
    }
  }

  bool key(string_t& k) override {
    switch (where()) {
      case Where::Vocab:
        vocab_key_ = append(vocab_text, k);
        return true;
      case Where::Capture:
        cap_key_ = std::move(k);
        return true;
      default:
        key_ = std::move(k);
        if (where() == Where::Top && key_ == "model") {
          if (saw_model) return fail("\"model\" appears twice");
          saw_model = true;
        }
        if (where() == Where::Model && (key_ == "vocab" || key_ == "merges")) {
          bool& seen = key_ == "vocab" ? saw_vocab : saw_merges;
          if (seen) return fail("model." + key_ + " appears twice");
          seen = true;
        }
        return true;
    }
  }

  bool start_object(std::size_t) override {
    if (too_deep()) return false;
    switch (where()) {
      case Where::Outside:
        stack_.push_back(Where::Top);
        return true;
      case Where::Top:
        if (key_ == "model") {
          stack_.push_back(Where::Model);
          return true;
        }
        return begin_capture(sections[key_], json::object());
      case Where::Model:
        if (key_ == "vocab") {
          stack_.push_back(Where::Vocab);
          return true;
        }
        if (key_ == "merges") return fail("model.merges is an object, expected an array");
        return begin_capture(model[key_], json::object());
      case Where::Capture:
        return nest(json::object());
      case Where::Vocab:
        return fail("model.vocab: the id of a token is an object, expected an integer");
      default:
        return fail(merge_path() + ": a merge is an object, expected \"a b\" or [\"a\", \"b\"]");
    }
  }

  bool start_array(std::size_t) override {
    if (too_deep()) return false;
    switch (where()) {
      case Where::Outside:
        return fail("the top level is an array, expected an object");
      case Where::Top:
        if (key_ == "model") return fail("\"model\" is an array, expected an object");
        return begin_capture(sections[key_], json::array());
      case Where::Model:
        if (key_ == "merges") {
          stack_.push_back(Where::Merges);
          return true;
        }
        if (key_ == "vocab") return fail("model.vocab is an array, expected an object of token -> id");
        return begin_capture(model[key_], json::array());
      case Where::Merges:
        pair_parts_ = 0;
        stack_.push_back(Where::MergePair);
        return true;
      case Where::Capture:
        return nest(json::array());
      case Where::Vocab:
        return fail("model.vocab: the id of a token is an array, expected an integer");
      default:
        return fail(merge_path() + ": a merge is nested too deep");
    }
  }

  bool end_object() override { return end(); }
  bool end_array() override {
    if (where() == Where::MergePair) {
      if (pair_parts_ != 2) return fail(merge_path() + ": a merge has exactly two tokens");
      merges.emplace_back(pair_[0], pair_[1]);
    }
    return end();
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();  // without nlohmann's "[json.exception.parse_error.101] "
    error = "invalid JSON: " + what.substr(what.find("] ") == std::string::npos ? 0 : what.find("] ") + 2);
    return false;
  }

 private:
  enum class Where { Outside, Top, Model, Vocab, Merges, MergePair, Capture };
  std::vector<Where> stack_;
  std::string key_;               // the key whose value comes next, in Top or Model
  Span vocab_key_{};              // the token whose id comes next
  Span pair_[2]{};                // a merge in the [a, b] form, so far
  int pair_parts_ = 0;
  std::vector<json*> cap_;        // the containers open in the value being captured
  std::string cap_key_;

  Where where() const { return stack_.empty() ? Where::Outside : stack_.back(); }

  // Bounded like every JSON input (base/json_file.h): the captured sections are copied and walked recursively.
  bool too_deep() {
    if (stack_.size() + cap_.size() < kMaxJsonDepth) return false;
    return fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }

  bool fail(std::string msg) {
    error = std::move(msg);
    return false;
  }

  std::string merge_path() const { return "model.merges[" + std::to_string(merges.size()) + "]"; }

  static Span append(std::string& buf, std::string_view s) {
    Span sp{static_cast<uint32_t>(buf.size()), static_cast<uint32_t>(s.size())};
    buf.append(s);
    return sp;
  }

  bool scalar(json&& v, const char* what) {
    switch (where()) {
      case Where::Outside:
        return fail(std::string("the top level is ") + what + ", expected an object");
      case Where::Top:
        if (key_ == "model") return fail(std::string("\"model\" is ") + what + ", expected an object");
        sections[key_] = std::move(v);
        return true;
      case Where::Model:
        if (key_ == "vocab" || key_ == "merges")
          return fail("model." + key_ + " is " + what + ", expected " + (key_ == "vocab" ? "an object" : "an array"));
        model[key_] = std::move(v);
        return true;
      case Where::Vocab:
        return fail(std::string("model.vocab: the id of \"") + vocab_text.substr(vocab_key_.off, vocab_key_.len) +
                    "\" is " + what + ", expected a non-negative integer");
      case Where::Merges:
      case Where::MergePair:
        return fail(merge_path() + ": found " + what + ", expected a token string");
      case Where::Capture:
        *slot() = std::move(v);
        return true;
    }
    return false;
  }

  json* slot() {
    json* c = cap_.back();
    if (c->is_object()) return &(*c)[cap_key_];
    c->push_back(nullptr);
    return &c->back();
  }

  bool begin_capture(json& target, json&& empty) {
    target = std::move(empty);
    cap_.push_back(&target);
    stack_.push_back(Where::Capture);
    return true;
  }

  bool nest(json&& empty) {
    json* s = slot();
    *s = std::move(empty);
    cap_.push_back(s);
    return true;
  }

  bool end() {
    if (where() == Where::Capture) {
      cap_.pop_back();
      if (!cap_.empty()) return true;
    }
    stack_.pop_back();
    return true;
  }
};

}  // namespace

namespace tok {

TokenizerJson read_tokenizer_json(std::string_view json_text, std::string_view origin) {
  Reader reader;
  bool ok = json::sax_parse(json_text.begin(), json_text.end(), &reader);
  if (!ok || !reader.error.empty())
    throw Error(std::string(origin) + ": " + (reader.error.empty() ? "invalid JSON" : reader.error));
  return std::move(static_cast<TokenizerJson&>(reader));
}

}  // namespace tok

}  // namespace gt::data
