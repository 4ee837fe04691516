#include "train/sft_packing.h"

#include <algorithm>
#include <iomanip>
#include <numeric>
#include <set>
#include <sstream>
#include <utility>

#include "base/error.h"

namespace gt::train {

std::vector<PackedSequence> pack_bfd(const std::vector<TokenizedSample>& samples, int64_t max_length) {
  auto length = [&](int64_t i) { return static_cast<int64_t>(samples[static_cast<size_t>(i)].ids.size()); };
  std::vector<int64_t> order(samples.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return length(a) > length(b); });
  std::vector<PackedSequence> out;
  std::set<std::pair<int64_t, int64_t>> room;  // (free tokens, sequence): the best fit is the first with enough
  for (int64_t i : order) {
    const int64_t n = length(i);
    GT_CHECK(n <= max_length, "pack_bfd: sample ", samples[static_cast<size_t>(i)].id, " has ", n,
             " tokens, more than max_length ", max_length);
    auto it = room.lower_bound({n, 0});
    int64_t seq = static_cast<int64_t>(out.size());
    if (it == room.end()) {
      out.emplace_back();
    } else {
      seq = it->second;
      room.erase(it);
    }
    PackedSequence& p = out[static_cast<size_t>(seq)];
    p.samples.push_back(i);
    p.tokens += n;
    if (p.tokens < max_length) room.insert({max_length - p.tokens, seq});
  }
  return out;
}

std::vector<PackedSequence> one_per_sequence(const std::vector<TokenizedSample>& samples) {
  std::vector<PackedSequence> out(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) out[i] = {{static_cast<int64_t>(i)}, static_cast<int64_t>(samples[i].ids.size())};
  return out;
}

PackingReport packing_report(const std::vector<PackedSequence>& sequences, int64_t samples, int64_t max_length) {
  PackingReport r;
  r.samples = samples;
  r.sequences = static_cast<int64_t>(sequences.size());
  r.max_length = max_length;
  for (const PackedSequence& p : sequences) r.tokens += p.tokens;
  return r;
}

nlohmann::json PackingReport::to_json() const {
  return {{"strategy", "bfd"},
          {"samples", samples},
          {"sequences", sequences},
          {"sequences_saved", samples - sequences},
          {"tokens", tokens},
          {"max_length", max_length},
          {"fill", sequences ? static_cast<double>(tokens) / static_cast<double>(sequences * max_length) : 0.0},
          {"padding_to_max_length_unpacked", padding_unpacked()},
          {"padding_to_max_length_packed", padding_packed()}};
}

std::string PackingReport::describe() const {
  std::ostringstream os;
  os << "packing (bfd): " << samples << " samples in " << sequences << " sequences of at most " << max_length
     << " tokens (" << samples - sequences << " fewer sequences, " << std::fixed << std::setprecision(1)
     << 100.0 * static_cast<double>(tokens) / static_cast<double>(std::max<int64_t>(1, sequences * max_length))
     << "% full); padded to max_length they would hold " << padding_packed() << " padding tokens instead of "
     << padding_unpacked();
  return os.str();
}

}  // namespace gt::train
