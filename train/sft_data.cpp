#include "train/sft_data.h"

#include <algorithm>

#include "base/checksum.h"
#include "base/error.h"
#include "base/json_file.h"
#include "data/chat_format.h"
#include "data/plan_sample.h"

namespace gt::train {

namespace {

int64_t count_trainable(const std::vector<uint8_t>& mask) { return std::count(mask.begin(), mask.end(), uint8_t{1}); }

CutResult keep_start(std::vector<int32_t>& ids, std::vector<uint8_t>& mask, int64_t max_length, int64_t trainable) {
  ids.resize(static_cast<size_t>(max_length));
  mask.resize(static_cast<size_t>(max_length));
  const int64_t left = count_trainable(mask);
  if (left == 0) return CutResult::Dropped;
  return left < trainable ? CutResult::TargetCut : CutResult::PromptCut;
}

}  // namespace

CutResult truncate_sample(std::vector<int32_t>& ids, std::vector<uint8_t>& mask, int64_t max_length,
                          Truncation policy) {
  GT_CHECK(ids.size() == mask.size() && max_length >= 2, "truncate_sample: ", ids.size(), " ids and ", mask.size(),
           " mask entries, max_length ", max_length);
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t trainable = count_trainable(mask);
  if (trainable == 0) return CutResult::Dropped;
  if (n <= max_length) return CutResult::Fits;
  switch (policy) {
    case Truncation::Drop: return CutResult::Dropped;
    case Truncation::KeepStart: return keep_start(ids, mask, max_length, trainable);
    case Truncation::PromptLeft: {
      const int64_t first = std::find(mask.begin(), mask.end(), uint8_t{1}) - mask.begin();
      const int64_t excess = n - max_length;
      // Position 0 is the BOS, which stays; prompt tokens 1..first-1 may go.
      if (excess > first - 1) return keep_start(ids, mask, max_length, trainable);
      ids.erase(ids.begin() + 1, ids.begin() + 1 + excess);
      mask.erase(mask.begin() + 1, mask.begin() + 1 + excess);
      return CutResult::PromptCut;
    }
  }
  return CutResult::Fits;
}

nlohmann::json DataReport::to_json() const {
  return {{"file", file},
          {"read", read},
          {"kept", kept},
          {"prompt_cut", prompt_cut},
          {"target_cut", target_cut},
          {"dropped_too_long", dropped_too_long},
          {"dropped_no_target", dropped_no_target},
          {"tokens", tokens},
          {"trainable_tokens", trainable_tokens},
          {"longest", longest}};
}

namespace {

// One line as token ids and mask, with the id logs name it by.
data::EncodedChat encode_line(const nlohmann::json& line, const std::string& source, const data::Tokenizer& tokenizer,
                              const data::LineRendering& r, std::string& id) {
  const data::LineFormat format = data::line_format(line, source, data::LineUse::Sft);
  if (format == data::LineFormat::Plan) {
    const data::PlanSample s = data::sample_from_json(line, source);
    id = s.source + ": " + s.id;
    return data::encode_plan_sample(tokenizer, s, true);
  }
  const std::string name = data::line_id(line, source);
  id = name == source ? source : source + ": " + name;
  return data::encode_chat(tokenizer, data::render_sft_line(line, format, source, r),
                           data::MaskRule::RequireTrainable, source);
}

}  // namespace

SftDataset load_sft_dataset(const std::string& path, const data::Tokenizer& tokenizer, int64_t max_length,
                            Truncation policy, const data::LineRendering& rendering) {
  SftDataset d;
  d.report.file = path;
  uint64_t h = fnv1a(nullptr, 0);
  for_each_jsonl(path, [&](const nlohmann::json& line, std::size_t number) {
    ++d.report.read;
    std::string id;
    data::EncodedChat e = encode_line(line, path + ":" + std::to_string(number), tokenizer, rendering, id);
    switch (truncate_sample(e.ids, e.mask, max_length, policy)) {
      case CutResult::Fits: break;
      case CutResult::PromptCut: ++d.report.prompt_cut; break;
      case CutResult::TargetCut: ++d.report.target_cut; break;
      case CutResult::Dropped:
        ++(count_trainable(e.mask) == 0 || policy != Truncation::Drop ? d.report.dropped_no_target
                                                                      : d.report.dropped_too_long);
        return;
    }
    TokenizedSample t;
    t.id = std::move(id);
    t.first_trainable = std::find(e.mask.begin(), e.mask.end(), uint8_t{1}) - e.mask.begin();
    t.trainable = count_trainable(e.mask);
    h = fnv1a(e.ids.data(), e.ids.size() * sizeof(int32_t), h);
    h = fnv1a(e.mask.data(), e.mask.size(), h);
    d.report.tokens += static_cast<int64_t>(e.ids.size());
    d.report.trainable_tokens += t.trainable;
    d.report.longest = std::max<int64_t>(d.report.longest, static_cast<int64_t>(e.ids.size()));
    t.ids = std::move(e.ids);
    t.mask = std::move(e.mask);
    d.samples.push_back(std::move(t));
  });
  GT_CHECK(d.report.read > 0, path, ": no samples (the file is empty)");
  d.report.kept = static_cast<int64_t>(d.samples.size());
  d.fingerprint = h;
  GT_CHECK(!d.samples.empty(), path, ": no sample left after truncation to ", max_length, " tokens (", d.report.read,
           " read)");
  return d;
}

}  // namespace gt::train
