#include "data/bpe_train.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <queue>
#include <unordered_map>

#include "base/error.h"
#include "data/chat_format.h"
#include "data/gemma4_tokenizer.h"
#include "data/tokenizer.h"
#include "data/utf8.h"

namespace gt::data {

namespace {

constexpr int32_t kWordStartCp = 0x2581;  // "▁", Gemma's normalized space
constexpr int32_t kReserved = 107, kNewlineId = 107, kFirstByte = 108, kFirstPiece = kFirstByte + 256;

struct Reserved {
  std::string content;
  bool special;
};

// Gemma 3's names for ids 0..106, with Gemma 4's renames applied.
std::vector<Reserved> reserved_tokens() {
  std::vector<Reserved> r(kReserved);
  const char* named[] = {"<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "[multimodal]"};
  for (int32_t id = 0; id < kReserved; ++id)
    r[id] = id < 6 ? Reserved{named[id], true} : Reserved{"<unused" + std::to_string(id - 6) + ">", false};
  r[105] = {"<start_of_turn>", true};
  r[106] = {"<end_of_turn>", true};
  for (const TokenRename& t : gemma4_token_renames())
    if (t.id < kReserved) r[t.id] = {std::string(t.gemma4), true};
  return r;
}

// Where merges may not join two neighbouring characters. Everything between two reserved tokens is one word to the
// encoder (the Gemma normalizer leaves no space for the pre-tokenizer to split on), so the trainer's boundaries are
// the only thing that keeps a piece inside a word. The rule:
//  - a space ("▁") starts a new piece unless it follows a space (runs of spaces stay together), so a piece never
//    crosses a word start, as SentencePiece makes them;
//  - a letter starts a new piece after punctuation, so a word is split the same way after a quote, a bracket or a
//    space: "Traffic" in `"name": "Traffic Report"` (the candidates) and in `"name":"Traffic Report"` (the plan);
//    punctuation may still follow a word within its piece (`Report",`), which keeps JSON short;
//  - a digit run is a unit of its own, so a number (a pluginId, a parameter value) is split the same way wherever it
//    appears, in the candidates, the request and the plan, and the model can copy it piece by piece;
//  - nothing joins a newline to what follows it, because chat_format.h tokenizes segment by segment and a segment
//    may start right after a turn header's "\n": the pieces must equal the whole.
// Merges that spanned spaces and punctuation made samples 40% shorter, but the tiny model could not learn from them:
// the same word of a request came out as different pieces in every phrase, so a request's words never lined up with
// the plugin they ask for (configs/README.md has the measurements).
// The rule looks only at the two characters, so the encoder, which runs BPE over the whole word (data/bpe.cpp), can
// never apply a merge across a boundary and gives the segmentation the trainer counted.
bool boundary(int32_t left, int32_t right) {
  auto digit = [](int32_t cp) { return cp >= '0' && cp <= '9'; };
  auto space = [](int32_t cp) { return cp == kWordStartCp; };
  auto letter = [&](int32_t cp) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_' || (cp >= 0x80 && !space(cp));
  };
  return left == '\n' || digit(left) != digit(right) || (space(right) && !space(left)) ||
         (letter(right) && !letter(left) && !space(left)) || (letter(left) && !letter(right));
}

// The corpus as a set of distinct units with counts: text split at the reserved tokens (the encoder matches them
// before BPE), normalized as Gemma does (" " -> "▁"), cut at the boundaries.
std::map<std::u32string, int64_t> count_units(const std::vector<std::string>& corpus,
                                              const std::vector<Reserved>& reserved) {
  std::unordered_map<std::u32string, int64_t> counts;
  std::u32string unit;
  auto flush = [&] {
    if (!unit.empty()) ++counts[unit];
    unit.clear();
  };
  for (const std::string& text : corpus) {
    for (size_t i = 0; i < text.size();) {
      size_t match = 0;
      if (text[i] == '<' || text[i] == '[')
        for (const Reserved& r : reserved)
          if (r.content.size() > match && text.compare(i, r.content.size(), r.content) == 0) match = r.content.size();
      if (match) {
        flush();
        i += match;
        continue;
      }
      int32_t cp;
      size_t n = tok::utf8_next(text, i, cp);
      i += n;
      if (cp == ' ') cp = kWordStartCp;
      if (!unit.empty() && (cp < 0 || boundary(static_cast<int32_t>(unit.back()), cp))) flush();
      // A byte that is not UTF-8 always falls back to <0xNN>, which no merge touches: it ends the unit.
      if (cp < 0) continue;
      unit += static_cast<char32_t>(cp);
    }
    flush();
  }
  return {counts.begin(), counts.end()};
}

std::string utf8(char32_t cp) {
  std::string s;
  tok::utf8_append(s, cp);
  return s;
}

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// The units laid end to end as linked lists of symbols (token ids), each position weighted by its unit's count.
// Every pair keeps the positions where it was ever seen; entries that a later merge invalidated are skipped when
// read, so a merge costs time in proportion to its occurrences, not to the corpus.
class Merger {
 public:
  struct Pair {
    int64_t count = 0;
    std::vector<int32_t> at;  // position of the left symbol
  };

  Merger(const std::map<std::u32string, int64_t>& units, const std::unordered_map<char32_t, int32_t>& char_id) {
    for (const auto& [u, count] : units) {
      if (sym_.size() + u.size() >= static_cast<size_t>(INT32_MAX))
        throw Error("tokenizer train: the corpus's distinct units hold more than 2^31 characters");
      int32_t start = static_cast<int32_t>(sym_.size());
      for (char32_t c : u) {
        auto it = char_id.find(c);
        // A character without a piece falls back to bytes, which no merge touches: it ends the run.
        if (it == char_id.end()) {
          link_run(start);
          start = static_cast<int32_t>(sym_.size());
          continue;
        }
        sym_.push_back(it->second);
        weight_.push_back(count);
      }
      link_run(start);
    }
    for (int32_t p = 0; p < static_cast<int32_t>(sym_.size()); ++p)
      if (next_[p] >= 0) add(sym_[p], sym_[next_[p]], weight_[p], p);
    for (const auto& [key, pair] : pairs_) queue_.push({pair.count, key});
    touched_.clear();
  }

  // The most frequent pair (ties: smallest left id, then right id), or false when none has min_count.
  bool best(int64_t min_count, int32_t& left, int32_t& right) {
    while (!queue_.empty()) {
      Entry e = queue_.top();
      queue_.pop();
      auto it = pairs_.find(e.key);
      int64_t now = it == pairs_.end() ? 0 : it->second.count;
      if (now != e.count) {
        if (now > 0) queue_.push({now, e.key});
        continue;
      }
      if (now < min_count) return false;
      left = static_cast<int32_t>(e.key >> 32);
      right = static_cast<int32_t>(e.key & 0xFFFFFFFFu);
      return true;
    }
    return false;
  }

  void merge(int32_t a, int32_t b, int32_t merged) {
    auto node = pairs_.extract(pair_key(a, b));
    std::vector<int32_t>& at = node.mapped().at;
    // Left to right, so that in a run such as "aaa" the leftmost pair merges first, as the encoder does.
    std::sort(at.begin(), at.end());
    touched_.clear();
    for (int32_t p : at) {
      int32_t q = next_[p];
      if (sym_[p] != a || q < 0 || sym_[q] != b) continue;
      int64_t w = weight_[p];
      int32_t o = prev_[p], r = next_[q];
      if (o >= 0) {
        remove(sym_[o], a, w);
        add(sym_[o], merged, w, o);
      }
      if (r >= 0) {
        remove(b, sym_[r], w);
        add(merged, sym_[r], w, p);
      }
      sym_[p] = merged;
      sym_[q] = -1;
      next_[p] = r;
      if (r >= 0) prev_[r] = p;
    }
    for (uint64_t key : touched_) {
      auto it = pairs_.find(key);
      if (it != pairs_.end() && it->second.count > 0) queue_.push({it->second.count, key});
    }
  }

 private:
  struct Entry {
    int64_t count;
    uint64_t key;
    bool operator<(const Entry& o) const { return count != o.count ? count < o.count : key > o.key; }
  };

  void link_run(int32_t start) {
    int32_t end = static_cast<int32_t>(sym_.size());
    prev_.resize(sym_.size());
    next_.resize(sym_.size());
    for (int32_t p = start; p < end; ++p) {
      prev_[p] = p > start ? p - 1 : -1;
      next_[p] = p + 1 < end ? p + 1 : -1;
    }
  }

  void add(int32_t a, int32_t b, int64_t w, int32_t at) {
    Pair& pr = pairs_[pair_key(a, b)];
    pr.count += w;
    pr.at.push_back(at);
    touched_.push_back(pair_key(a, b));
  }

  void remove(int32_t a, int32_t b, int64_t w) {
    auto it = pairs_.find(pair_key(a, b));
    if (it != pairs_.end()) it->second.count -= w;
  }

  std::vector<int32_t> sym_, prev_, next_;
  std::vector<int64_t> weight_;
  std::unordered_map<uint64_t, Pair> pairs_;
  std::priority_queue<Entry> queue_;
  std::vector<uint64_t> touched_;
};

std::string json_string(std::string_view s) { return nlohmann::json(s).dump(); }

// Gemma's layout, one vocabulary entry or merge a line, so the file stays small and diffs stay readable.
std::string write_json(const std::vector<Reserved>& reserved, const std::vector<std::string>& tokens,
                       const std::vector<std::pair<int32_t, int32_t>>& merges) {
  std::string o = "{\n\"version\": \"1.0\",\n\"truncation\": null,\n\"padding\": null,\n\"added_tokens\": [\n";
  for (size_t id = 0; id < reserved.size(); ++id) {
    o += "{\"id\": " + std::to_string(id) + ", \"content\": " + json_string(reserved[id].content) +
         ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": " +
         (reserved[id].special ? "true" : "false") + "}" + (id + 1 < reserved.size() ? ",\n" : "\n");
  }
  o += "],\n";
  o += "\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\xE2\x96\x81\"},\n";
  o += "\"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": "
       "\"MergedWithPrevious\", \"invert\": false},\n";
  o += "\"post_processor\": {\"type\": \"TemplateProcessing\", "
       "\"single\": [{\"SpecialToken\": {\"id\": \"<bos>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", "
       "\"type_id\": 0}}], "
       "\"pair\": [{\"SpecialToken\": {\"id\": \"<bos>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", "
       "\"type_id\": 0}}, {\"SpecialToken\": {\"id\": \"<bos>\", \"type_id\": 1}}, {\"Sequence\": {\"id\": \"B\", "
       "\"type_id\": 1}}], "
       "\"special_tokens\": {\"<bos>\": {\"id\": \"<bos>\", \"ids\": [2], \"tokens\": [\"<bos>\"]}}},\n";
  o += "\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": "
       "\"\xE2\x96\x81\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}]},\n";
  o += "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": \"<unk>\", \"continuing_subword_prefix\": "
       "null, \"end_of_word_suffix\": null, \"fuse_unk\": true, \"byte_fallback\": true, \"ignore_merges\": false,\n";
  o += "\"vocab\": {\n";
  for (size_t id = 0; id < tokens.size(); ++id)
    o += json_string(tokens[id]) + ": " + std::to_string(id) + (id + 1 < tokens.size() ? ",\n" : "\n");
  o += "},\n\"merges\": [\n";
  for (size_t i = 0; i < merges.size(); ++i) {
    o += '[';
    o += json_string(tokens[merges[i].first]) + ", " + json_string(tokens[merges[i].second]);
    o += i + 1 < merges.size() ? "],\n" : "]\n";
  }
  o += "]\n}\n}\n";
  return o;
}

}  // namespace

BpeTrainResult train_bpe(const std::vector<std::string>& corpus, const BpeTrainOptions& options) {
  const std::vector<Reserved> reserved = reserved_tokens();
  const auto units = count_units(corpus, reserved);

  std::vector<std::string> tokens;
  for (const Reserved& r : reserved) tokens.push_back(r.content);
  tokens.push_back("\n");
  static const char* hex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");

  // The alphabet: printable ASCII always, so that plain English never needs byte pieces, then the corpus's others.
  std::map<char32_t, int64_t> char_count;
  for (const auto& [u, count] : units)
    for (char32_t c : u) char_count[c] += count;
  std::vector<std::pair<int64_t, char32_t>> alphabet;
  for (auto [c, count] : char_count) {
    bool ascii = c >= 0x21 && c < 0x7F;
    if (c != '\n' && (ascii || c == static_cast<char32_t>(kWordStartCp) || count >= options.min_frequency))
      alphabet.push_back({-count, c});
  }
  for (char32_t c = 0x21; c < 0x7F; ++c)
    if (!char_count.count(c)) alphabet.push_back({0, c});
  if (!char_count.count(static_cast<char32_t>(kWordStartCp))) alphabet.push_back({0, kWordStartCp});
  std::sort(alphabet.begin(), alphabet.end());
  if (kFirstPiece + static_cast<int64_t>(alphabet.size()) > options.vocab_size)
    throw Error("tokenizer train: a vocabulary of " + std::to_string(options.vocab_size) +
                " cannot hold the reserved ids, bytes and " + std::to_string(alphabet.size() + 1) + " characters (" +
                std::to_string(kFirstPiece + alphabet.size()) + " entries)");
  std::unordered_map<char32_t, int32_t> char_id{{U'\n', kNewlineId}};
  for (auto [neg, c] : alphabet) {
    char_id[c] = static_cast<int32_t>(tokens.size());
    tokens.push_back(utf8(c));
  }
  const auto alphabet_size = static_cast<int32_t>(alphabet.size() + 1);

  std::unordered_map<std::string, int32_t> id_of;
  for (size_t id = kReserved; id < tokens.size(); ++id) id_of.emplace(tokens[id], static_cast<int32_t>(id));
  std::vector<std::pair<int32_t, int32_t>> merges;
  Merger merger(units, char_id);
  int32_t a, b;
  while (static_cast<int32_t>(tokens.size()) < options.vocab_size &&
         merger.best(std::max<int64_t>(options.min_frequency, 1), a, b)) {
    std::string text = tokens[a] + tokens[b];
    auto [it, fresh] = id_of.emplace(text, static_cast<int32_t>(tokens.size()));
    if (fresh) tokens.push_back(std::move(text));
    merges.emplace_back(a, b);
    merger.merge(a, b, it->second);
  }

  BpeTrainResult r;
  r.json = write_json(reserved, tokens, merges);
  r.vocab_size = static_cast<int32_t>(tokens.size());
  r.alphabet = alphabet_size;
  r.merges = static_cast<int64_t>(merges.size());
  return r;
}

std::vector<std::string> plan_sample_texts(const std::vector<PlanSample>& samples) {
  std::vector<std::string> texts;
  texts.reserve(samples.size());
  for (const PlanSample& s : samples) texts.push_back(join_segments(render_plan_sample(s, true)));
  return texts;
}

}  // namespace gt::data
