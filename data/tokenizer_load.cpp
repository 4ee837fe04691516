// Loading tokenizer.json. One SAX pass streams the two large arrays, model.vocab and model.merges, straight into flat
// buffers (a DOM of the Gemma file takes about 0.8 s and several hundred MB); every other section is small and is
// kept as a JSON value, then checked component by component so that anything we would encode differently from
// `tokenizers` is refused by name.
#include <nlohmann/json.hpp>

#include <atomic>
#include <climits>
#include <type_traits>

#include "base/error.h"
#include "data/tokenizer_impl.h"
#include "data/tokenizer_json.h"
#include "data/utf8.h"

namespace gt::data {

namespace {

using json = nlohmann::json;
constexpr std::string_view kWordStart = "\xE2\x96\x81";  // "▁"
// The id tables are dense (indexed by id), so an id bounds their size: a file naming id 2^31 - 2 would ask for
// 16 GB. 2^24 is 64 times Gemma 4's 262,144 entries.
constexpr uint64_t kMaxTokenId = uint64_t{1} << 24;

class Builder {
 public:
  Builder(tok::TokenizerJson& r, std::string_view origin) : r_(r), impl_(std::make_unique<Tokenizer::Impl>()) {
    impl_->origin = origin;
  }

  std::unique_ptr<Tokenizer::Impl> build() {
    check_model_options();
    build_vocab();
    build_merges();
    build_added_tokens();
    impl_->normalizer = parse_normalizer(section("normalizer"), "normalizer");
    for (const auto& r : impl_->normalizer)
      if (r.from.empty()) fail("normalizer: Replace with an empty pattern");
    parse_pre_tokenizer(section("pre_tokenizer"), "pre_tokenizer");
    const json& dec = section("decoder");
    impl_->has_decoder = !dec.is_null();
    if (impl_->has_decoder) parse_decoder(dec, "decoder");
    parse_post_processor(section("post_processor"));
    for (const char* k : {"truncation", "padding"})
      if (!section(k).is_null()) fail(std::string(k) + " is set; encoding with it is not supported");
    build_matchers();
    analyse_word_starts();
    static std::atomic<uint64_t> serials{0};
    impl_->bpe.serial = ++serials;
    impl_->bpe.tokens = &impl_->tokens;
    return std::move(impl_);
  }

 private:
  tok::TokenizerJson& r_;
  std::unique_ptr<Tokenizer::Impl> impl_;
  std::vector<int32_t> merge_results_;
  bool merges_touch_bytes_ = false;

  [[noreturn]] void fail(const std::string& msg) const { throw Error(impl_->origin + ": " + msg); }

  const json& section(const char* key) const {
    static const json null_value;
    auto it = r_.sections.find(key);
    return it == r_.sections.end() ? null_value : *it;
  }

  static std::string type_of(const json& j) { return j.is_object() && j.contains("type") ? j["type"].dump() : "?"; }

  template <class T>
  T get(const json& obj, const char* key, const std::string& path, T fallback) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    // nlohmann would wrap -1 to 2^64-1 and truncate 1.5 to 1.
    if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>)
      if (!it->is_number_unsigned()) fail(path + "." + key + " is " + it->dump() + ", expected a non-negative integer");
    try {
      return it->get<T>();
    } catch (const json::exception&) {
      fail(path + "." + key + " has the wrong type: " + it->dump());
    }
  }

  std::string require_string(const json& obj, const char* key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) fail(path + "." + key + " is missing or not a string");
    return it->get<std::string>();
  }

  // The string of a {"String": s} pattern; a {"Regex": ...} one is refused.
  std::string string_pattern(const json& obj, const std::string& path) const {
    auto it = obj.find("pattern");
    if (it == obj.end() || !it->is_object()) fail(path + ".pattern is missing");
    if (it->contains("Regex")) fail(path + ": a Regex pattern is not supported (only String patterns)");
    if (!it->contains("String") || !(*it)["String"].is_string()) fail(path + ".pattern has no String");
    return (*it)["String"].get<std::string>();
  }

  void check_model_options() {
    if (!r_.saw_model) fail("no \"model\" section");
    const json& m = r_.model;
    auto type = m.find("type");
    if (type == m.end() || !type->is_string()) fail("model.type is missing");
    if (*type != "BPE") fail("model type " + type->dump() + " is not supported (only BPE)");
    if (!r_.saw_vocab) fail("model.vocab is missing");
    if (!r_.saw_merges) fail("model.merges is missing");
    if (get<double>(m, "dropout", "model", 0.0) != 0.0) fail("model.dropout is set; BPE dropout is not supported");
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (!get<std::string>(m, k, "model", "").empty()) fail(std::string("model.") + k + " is not supported");
    auto& bpe = impl_->bpe;
    bpe.fuse_unk = get<bool>(m, "fuse_unk", "model", false);
    bpe.byte_fallback = get<bool>(m, "byte_fallback", "model", false);
    bpe.ignore_merges = get<bool>(m, "ignore_merges", "model", false);
  }

  void build_vocab() {
    auto& t = impl_->tokens;
    uint64_t max_id = 0;
    for (const auto& [sp, id] : r_.vocab) max_id = std::max(max_id, id);
    if (max_id >= kMaxTokenId)
      fail("model.vocab: id " + std::to_string(max_id) + " is too large (ids must be below " +
           std::to_string(kMaxTokenId) + ")");
    size_t n = r_.vocab.empty() ? 0 : max_id + 1;
    t.text = std::move(r_.vocab_text);
    t.off.assign(n, 0);
    t.len.assign(n, tok::TokenTable::kAbsent);
    auto& bpe = impl_->bpe;
    bpe.tokens = &t;
    bpe.vocab.reserve(r_.vocab.size());
    std::vector<int32_t> ids;
    for (const auto& [sp, id64] : r_.vocab) {
      auto id = static_cast<int32_t>(id64);
      if (t.has(id)) fail("model.vocab: id " + std::to_string(id) + " is given to two tokens");
      t.off[id] = sp.off;
      t.len[id] = sp.len;
      int32_t dup = bpe.vocab.insert(id, sp.off, sp.len, t.text);
      if (dup >= 0) fail("model.vocab: token \"" + std::string(t.at(id)) + "\" appears twice");
    }
    bpe.ascii_id.fill(-1);
    bpe.byte_id.fill(-1);
    for (size_t id = 0; id < n; ++id) {
      if (t.len[id] == tok::TokenTable::kAbsent || t.len[id] == 0) continue;
      std::string_view s = t.at(static_cast<int32_t>(id));
      int32_t cp;
      if (tok::utf8_next(s, 0, cp) != s.size() || cp < 0) continue;
      if (cp < 128)
        bpe.ascii_id[cp] = static_cast<int32_t>(id);
      else
        bpe.char_id.insert(static_cast<uint64_t>(cp), id);
    }
    static const char* hex = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      // `tokenizers` spells byte tokens as format!("<{:#04X}>"): "<0x0A>".
      std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
      bpe.byte_id[b] = bpe.find(name);
    }
    auto unk = r_.model.find("unk_token");
    if (unk != r_.model.end() && !unk->is_null()) {
      if (!unk->is_string()) fail("model.unk_token is not a string");
      bpe.unk_id = bpe.find(unk->get<std::string>());
      if (bpe.unk_id < 0) fail("model.unk_token " + unk->dump() + " is not in the vocabulary");
    }
  }

  void build_merges() {
    auto& bpe = impl_->bpe;
    std::vector<bool> is_byte(impl_->tokens.len.size(), false);
    for (int32_t id : bpe.byte_id)
      if (id >= 0) is_byte[id] = true;
    const size_t n = r_.merges.size();
    bpe.merges.reserve(n);
    merge_results_.reserve(n);
    // Three lookups per merge in a table far larger than the caches: done in blocks, so that the memory waits of a
    // block overlap (this halves the load time of the Gemma file). The reader stored each merge's two sides back to
    // back, so the merged token is a view too.
    const std::string_view text = r_.merge_text, arena = impl_->tokens.text;
    constexpr size_t kBlock = 32;
    std::array<std::string_view, 3 * kBlock> q;
    std::array<uint64_t, 3 * kBlock> h;
    for (size_t base = 0; base < n; base += kBlock) {
      size_t m = std::min(kBlock, n - base);
      for (size_t i = 0; i < m; ++i) {
        auto [a, b] = r_.merges[base + i];
        q[3 * i] = text.substr(a.off, a.len);
        q[3 * i + 1] = text.substr(b.off, b.len);
        q[3 * i + 2] = text.substr(a.off, a.len + b.len);
      }
      for (size_t k = 0; k < 3 * m; ++k) {
        h[k] = tok::hash_bytes(q[k]);
        bpe.vocab.prefetch_slot(h[k]);
      }
      for (size_t k = 0; k < 3 * m; ++k) bpe.vocab.prefetch_text(h[k], arena);
      std::array<uint64_t, kBlock> key, val;
      for (size_t i = 0; i < m; ++i) {
        size_t rank = base + i;
        int32_t ia = bpe.vocab.find(q[3 * i], h[3 * i], arena), ib = bpe.vocab.find(q[3 * i + 1], h[3 * i + 1], arena);
        int32_t im = bpe.vocab.find(q[3 * i + 2], h[3 * i + 2], arena);
        auto where = [&] { return "model.merges[" + std::to_string(rank) + "]: "; };
        if (ia < 0) fail(where() + "token \"" + std::string(q[3 * i]) + "\" is not in the vocabulary");
        if (ib < 0) fail(where() + "token \"" + std::string(q[3 * i + 1]) + "\" is not in the vocabulary");
        if (im < 0) fail(where() + "the merged token \"" + std::string(q[3 * i + 2]) + "\" is not in the vocabulary");
        key[i] = (static_cast<uint64_t>(ia) << 32) | static_cast<uint32_t>(ib);
        val[i] = (static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(im);
        bpe.merges.prefetch(key[i]);
        merge_results_.push_back(im);
        merges_touch_bytes_ = merges_touch_bytes_ || is_byte[ia] || is_byte[ib];
      }
      // A repeated pair keeps its last rank, as in `tokenizers` (it collects the merges into a hash map).
      for (size_t i = 0; i < m; ++i) bpe.merges.insert(key[i], val[i]);
    }
  }

  void build_added_tokens() {
    const json& list = section("added_tokens");
    if (list.is_null()) {
      impl_->special.assign(impl_->tokens.len.size(), 0);
      return;
    }
    if (!list.is_array()) fail("added_tokens is not an array");
    auto& t = impl_->tokens;
    for (size_t i = 0; i < list.size(); ++i) {
      const json& e = list[i];
      std::string path = "added_tokens[" + std::to_string(i) + "]";
      if (!e.is_object()) fail(path + " is not an object");
      tok::AddedToken a;
      auto id = e.find("id");
      if (id == e.end() || !id->is_number_unsigned() || id->get<uint64_t>() >= kMaxTokenId)
        fail(path + ".id is missing or not an id below " + std::to_string(kMaxTokenId));
      a.id = id->get<int32_t>();
      a.content = require_string(e, "content", path);
      if (a.content.empty()) fail(path + ".content is empty");
      a.single_word = get<bool>(e, "single_word", path, false);
      a.lstrip = get<bool>(e, "lstrip", path, false);
      a.rstrip = get<bool>(e, "rstrip", path, false);
      a.normalized = get<bool>(e, "normalized", path, true);
      a.special = get<bool>(e, "special", path, false);
      int32_t in_vocab = impl_->bpe.find(a.content);
      if (in_vocab >= 0 && in_vocab != a.id)
        fail(path + ": \"" + a.content + "\" has id " + std::to_string(a.id) + " but the model gives it " +
             std::to_string(in_vocab));
      if (t.has(a.id) && t.at(a.id) != a.content)
        fail(path + ": id " + std::to_string(a.id) + " is \"" + a.content + "\" but the model's token with that id is \"" +
             std::string(t.at(a.id)) + "\"");
      if (!t.has(a.id)) {
        if (static_cast<size_t>(a.id) >= t.len.size()) {
          t.off.resize(static_cast<size_t>(a.id) + 1, 0);
          t.len.resize(static_cast<size_t>(a.id) + 1, tok::TokenTable::kAbsent);
        }
        t.off[a.id] = static_cast<uint32_t>(t.text.size());
        t.len[a.id] = static_cast<uint32_t>(a.content.size());
        t.text += a.content;
      }
      impl_->added.push_back(std::move(a));
    }
    auto& added = impl_->added;
    impl_->added_by_content.reserve(added.size());
    std::vector<bool> seen(t.len.size(), false);
    impl_->special.assign(t.len.size(), 0);
    for (size_t i = 0; i < added.size(); ++i) {
      if (seen[added[i].id]) fail("added_tokens: id " + std::to_string(added[i].id) + " appears twice");
      seen[added[i].id] = true;
      impl_->special[added[i].id] = added[i].special;
      int32_t id = added[i].id;
      int32_t dup = impl_->added_by_content.insert(id, t.off[id], t.len[id], t.text);
      if (dup >= 0) fail("added_tokens: \"" + added[i].content + "\" appears twice");
    }
  }

  std::vector<tok::Replace> parse_normalizer(const json& n, const std::string& path) const {
    if (n.is_null()) return {};
    if (!n.is_object()) fail(path + " is not an object");
    std::string type = get<std::string>(n, "type", path, "");
    if (type == "Replace") return {tok::Replace{string_pattern(n, path), require_string(n, "content", path)}};
    if (type == "Sequence") {
      auto it = n.find("normalizers");
      if (it == n.end() || !it->is_array()) fail(path + ".normalizers is missing");
      std::vector<tok::Replace> all;
      for (size_t i = 0; i < it->size(); ++i) {
        auto part = parse_normalizer((*it)[i], path + ".normalizers[" + std::to_string(i) + "]");
        all.insert(all.end(), part.begin(), part.end());
      }
      return all;
    }
    fail(path + ": type " + type_of(n) + " is not supported (supported: Replace with a String pattern, Sequence)");
  }

  void parse_pre_tokenizer(const json& p, const std::string& path) {
    if (p.is_null()) return;
    if (!p.is_object()) fail(path + " is not an object");
    std::string type = get<std::string>(p, "type", path, "");
    if (type == "Split") {
      if (get<bool>(p, "invert", path, false)) fail(path + ": Split with invert=true is not supported");
      tok::Split s{string_pattern(p, path), tok::SplitBehavior::Removed};
      if (s.pattern.empty()) fail(path + ": Split with an empty pattern");
      std::string b = require_string(p, "behavior", path);
      if (b == "Removed") s.behavior = tok::SplitBehavior::Removed;
      else if (b == "Isolated") s.behavior = tok::SplitBehavior::Isolated;
      else if (b == "MergedWithPrevious") s.behavior = tok::SplitBehavior::MergedWithPrevious;
      else if (b == "MergedWithNext") s.behavior = tok::SplitBehavior::MergedWithNext;
      else if (b == "Contiguous") s.behavior = tok::SplitBehavior::Contiguous;
      else fail(path + ": unknown Split behavior \"" + b + "\"");
      impl_->pre_tokenizer.push_back(std::move(s));
      return;
    }
    if (type == "Sequence") {
      auto it = p.find("pretokenizers");
      if (it == p.end() || !it->is_array()) fail(path + ".pretokenizers is missing");
      for (size_t i = 0; i < it->size(); ++i)
        parse_pre_tokenizer((*it)[i], path + ".pretokenizers[" + std::to_string(i) + "]");
      return;
    }
    fail(path + ": type " + type_of(p) + " is not supported (supported: Split with a String pattern, Sequence)");
  }

  void parse_decoder(const json& d, const std::string& path) {
    if (!d.is_object()) fail(path + " is not an object");
    std::string type = get<std::string>(d, "type", path, "");
    tok::DecodeStep step{};
    if (type == "Replace") {
      step.kind = tok::DecodeStep::kReplace;
      step.from = string_pattern(d, path);
      step.to = require_string(d, "content", path);
      if (step.from.empty()) fail(path + ": Replace with an empty pattern");
    } else if (type == "ByteFallback") {
      step.kind = tok::DecodeStep::kByteFallback;
    } else if (type == "Fuse") {
      step.kind = tok::DecodeStep::kFuse;
    } else if (type == "Strip") {
      step.kind = tok::DecodeStep::kStrip;
      std::string c = require_string(d, "content", path);
      int32_t cp = -1;
      if (c.empty() || tok::utf8_next(c, 0, cp) != c.size() || cp < 0) fail(path + ".content is not one character");
      step.strip_char = cp;
      step.start = get<size_t>(d, "start", path, 0);
      step.stop = get<size_t>(d, "stop", path, 0);
    } else if (type == "Sequence") {
      auto it = d.find("decoders");
      if (it == d.end() || !it->is_array()) fail(path + ".decoders is missing");
      for (size_t i = 0; i < it->size(); ++i) parse_decoder((*it)[i], path + ".decoders[" + std::to_string(i) + "]");
      return;
    } else {
      fail(path + ": type " + type_of(d) +
           " is not supported (supported: Replace with a String pattern, ByteFallback, Fuse, Strip, Sequence)");
    }
    impl_->decoder.push_back(std::move(step));
  }

  void parse_post_processor(const json& p) {
    const std::string path = "post_processor";
    if (p.is_null()) return;
    if (!p.is_object()) fail(path + " is not an object");
    std::string type = get<std::string>(p, "type", path, "");
    if (type != "TemplateProcessing")
      fail(path + ": type " + type_of(p) + " is not supported (supported: TemplateProcessing)");
    auto single = p.find("single");
    if (single == p.end() || !single->is_array()) fail(path + ".single is missing");
    auto specials = p.find("special_tokens");
    bool seen_sequence = false;
    for (size_t i = 0; i < single->size(); ++i) {
      const json& item = (*single)[i];
      std::string ipath = path + ".single[" + std::to_string(i) + "]";
      if (item.is_object() && item.contains("Sequence")) {
        if (get<std::string>(item["Sequence"], "id", ipath, "") != "A") fail(ipath + ": only sequence A is supported");
        if (seen_sequence) fail(ipath + ": sequence A appears twice");
        seen_sequence = true;
        continue;
      }
      if (!item.is_object() || !item.contains("SpecialToken")) fail(ipath + " is neither SpecialToken nor Sequence");
      std::string name = require_string(item["SpecialToken"], "id", ipath + ".SpecialToken");
      if (specials == p.end() || !specials->is_object() || !specials->contains(name))
        fail(ipath + ": special token \"" + name + "\" is not in post_processor.special_tokens");
      // find, not operator[]: a const json's operator[] on a missing key is undefined behaviour (the fuzzer's
      // heap-use-after-free).
      const json& entry = (*specials)[name];  // present: checked above
      const auto ids = entry.find("ids");     // end() for a non-object too
      if (ids == entry.end() || !ids->is_array()) fail(path + ".special_tokens[\"" + name + "\"].ids is missing");
      for (const json& id : *ids) {
        if (!id.is_number_unsigned() || id.get<uint64_t>() > INT32_MAX || !impl_->tokens.has(id.get<int32_t>()))
          fail(path + ".special_tokens[\"" + name + "\"]: id " + id.dump() + " is not in the vocabulary");
        (seen_sequence ? impl_->suffix : impl_->prefix).push_back(id.get<int32_t>());
      }
    }
    if (!seen_sequence) fail(path + ".single has no Sequence A");
  }

  void build_matchers() {
    std::vector<std::pair<std::string, int32_t>> raw, normalized;
    for (size_t i = 0; i < impl_->added.size(); ++i) {
      const tok::AddedToken& a = impl_->added[i];
      if (!a.normalized) {
        raw.emplace_back(a.content, static_cast<int32_t>(i));
        continue;
      }
      // Matched on normalized text, so the pattern is normalized too.
      std::string norm = impl_->normalize(a.content);
      normalized.emplace_back(norm, static_cast<int32_t>(i));
    }
    impl_->raw_trie.build(raw);
    impl_->normalized_trie.build(normalized);
  }

  // Decides whether words may be cut before each "▁" that follows another character (see BpeModel). A merge can
  // only join symbols across such a cut if its result spans the cut, so the cut is exact wherever none of those
  // results occurs around it. Byte-fallback symbols spell other text than they stand for, so merges of them
  // disable it; so do ignore_merges (the whole word is looked up first) and a missing "▁" (it would be <unk>,
  // and unknowns fuse across the cut).
  void analyse_word_starts() {
    auto& bpe = impl_->bpe;
    bpe.split_at_word_start = false;
    if (bpe.ignore_merges || merges_touch_bytes_ || bpe.find(kWordStart) < 0) return;
    std::vector<bool> done(impl_->tokens.len.size(), false);
    for (int32_t id : merge_results_) {
      if (done[id]) continue;
      done[id] = true;
      std::string_view r = impl_->tokens.at(id);
      for (size_t k = r.find(kWordStart, 1); k != std::string_view::npos; k = r.find(kWordStart, k + 1)) {
        if (k >= kWordStart.size() && r.compare(k - kWordStart.size(), kWordStart.size(), kWordStart) == 0) continue;
        bpe.crossings.emplace_back(std::string(r), k);
      }
    }
    // Vocabularies not built from whitespace-separated words would need a check at every cut; not worth it.
    if (bpe.crossings.size() > 64) {
      bpe.crossings.clear();
      return;
    }
    bpe.split_at_word_start = true;
  }
};

}  // namespace

std::unique_ptr<Tokenizer::Impl> load_tokenizer(std::string_view json_text, std::string_view origin) {
  tok::TokenizerJson parsed = tok::read_tokenizer_json(json_text, origin);
  return Builder(parsed, origin).build();
}

}  // namespace gt::data
