// metrics.jsonl under Hugging Face's names (old names still read), the TensorBoard event files beside it (checked
// against TensorFlow's record format with a CRC-32C of the test's own, decoded with the generated protobuf classes)
// and the SVG curves of a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "sft_fixture.h"
#include "support/svg_check.h"
#include "train/metric_names.h"
#include "train/metric_plots.h"
#include "train/sft.h"
#include "train/tensorboard.pb.h"

using namespace gt;
using namespace gt::train;
using namespace gt::testing;
namespace fs = std::filesystem;

namespace {

// CRC-32C bit by bit (the Castagnoli polynomial, reflected: 0x82f63b78), apart from base/checksum.h's.
uint32_t crc32c_bitwise(const char* p, size_t n) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<uint8_t>(p[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// TFRecord's masking, as TensorFlow publishes it.
uint32_t masked(const char* p, size_t n) {
  const uint32_t crc = crc32c_bitwise(p, n);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

uint64_t le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
  return v;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The events of a TFRecord file; a record whose framing or checksums are wrong, or whose payload does not decode,
// throws naming it.
std::vector<tensorflow::Event> decode_records(const std::string& s) {
  std::vector<tensorflow::Event> out;
  size_t at = 0;
  while (at < s.size()) {
    const std::string where = "record " + std::to_string(out.size()) + " at byte " + std::to_string(at);
    if (s.size() - at < 12) throw std::runtime_error(where + ": truncated header");
    const uint64_t n = le(s, at, 8);
    if (le(s, at + 8, 4) != masked(s.data() + at, 8)) throw std::runtime_error(where + ": length checksum");
    if (s.size() - at - 12 < n + 4) throw std::runtime_error(where + ": truncated payload");
    const char* payload = s.data() + at + 12;
    if (le(s, at + 12 + n, 4) != masked(payload, n)) throw std::runtime_error(where + ": payload checksum");
    tensorflow::Event e;
    if (!e.ParseFromArray(payload, static_cast<int>(n))) throw std::runtime_error(where + ": not an Event");
    out.push_back(e);
    at += 12 + n + 4;
  }
  return out;
}

std::vector<fs::path> event_files(const std::string& dir) {
  std::vector<fs::path> v;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<json> all_records(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

// An SFT metrics file as a run from before the renames wrote it (lr, heldout_loss).
std::string under_old_names(const std::string& path) {
  std::string out;
  for (json rec : all_records(path)) {
    if (rec.contains("learning_rate")) rec["lr"] = rec["learning_rate"], rec.erase("learning_rate");
    if (rec.contains("eval_loss")) rec["heldout_loss"] = rec["eval_loss"], rec.erase("eval_loss");
    out += rec.dump() + "\n";
  }
  return out;
}

// What TensorBoard should show of one metrics record, by Hugging Face's TensorBoardCallback rule (eval_x as
// eval/x, everything else as train/x): the tag and float value of each number but the step.
std::map<std::string, float> expected_scalars(const json& r) {
  std::map<std::string, float> m;
  const std::string type = r["type"];
  if (type != "train" && type != "eval") return m;
  for (const auto& [k, v] : r.items())
    if (k != "step" && v.is_number())
      m[k.rfind("eval_", 0) == 0 ? "eval/" + k.substr(5) : "train/" + k] = static_cast<float>(v.get<double>());
  return m;
}

std::map<std::string, float> scalars_of(const tensorflow::Event& e) {
  std::map<std::string, float> m;
  for (const auto& v : e.summary().value()) m[v.tag()] = v.simple_value();
  return m;
}

// Checks that `events` (after the file_version event) are the scalar records of `records`, in order.
void expect_events_match(const std::vector<tensorflow::Event>& events, const std::vector<json>& records) {
  size_t i = 1;
  for (const json& r : records) {
    const auto want = expected_scalars(r);
    if (want.empty()) continue;
    ASSERT_LT(i, events.size()) << "no event for " << r.dump();
    EXPECT_EQ(events[i].step(), r["step"].get<int64_t>());
    EXPECT_EQ(scalars_of(events[i]), want) << r.dump();
    ++i;
  }
  EXPECT_EQ(i, events.size()) << "events beyond the metrics records";
}


}  // namespace

TEST(TensorBoard, TheEventFileHoldsTheScalarsOfMetricsJsonlUnderHuggingFaceTags) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 1}, {"eval", {{"every", 2}}}});
  ASSERT_TRUE(run_sft(c).finished);
  const auto files = event_files(c.out_dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0].filename().string().find(".tfevents."), std::string::npos);
  const std::vector<tensorflow::Event> events = decode_records(bytes_of(files[0]));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_GT(events[0].wall_time(), 1.7e9);
  const std::vector<json> records = all_records(c.log_path());
  expect_events_match(events, records);
  // The names a TRL user looks for.
  const auto first_train = scalars_of(events[2]);  // after file_version and the step-0 eval
  for (const char* tag : {"train/loss", "train/learning_rate", "train/grad_norm", "train/epoch"})
    EXPECT_TRUE(first_train.count(tag)) << tag;
  EXPECT_TRUE(scalars_of(events[1]).count("eval/loss"));
  EXPECT_EQ(first_train.at("train/learning_rate"), 1e-2f);
}

TEST(TensorBoard, ACorruptedByteIsDetected) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 1}, {"data", {{"heldout", nullptr}}}});
  ASSERT_TRUE(run_sft(c).finished);
  const std::string good = bytes_of(event_files(c.out_dir).at(0));
  ASSERT_NO_THROW(decode_records(good));
  const size_t first = 12 + le(good, 0, 8) + 4;  // where the second record starts
  for (size_t at : {first + 3, first + 9, first + 20, good.size() - 2}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    EXPECT_THROW(decode_records(bad), std::runtime_error) << "byte " << at;
  }
  EXPECT_THROW(decode_records(good.substr(0, good.size() - 1)), std::runtime_error);
}

TEST(TensorBoard, AResumedRunAddsAFileAndLeavesTheOldOneAsItWas) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 1}, {"data", {{"heldout", nullptr}}}});
  SftRunOptions first;
  first.stop_after = 2;
  ASSERT_FALSE(run_sft(c, first).finished);
  const auto before = event_files(c.out_dir);
  ASSERT_EQ(before.size(), 1u);
  const std::string old_bytes = bytes_of(before[0]);
  SftRunOptions again;
  again.resume = true;
  const SftResult r = run_sft(c, again);
  ASSERT_TRUE(r.finished);
  const auto after = event_files(c.out_dir);
  ASSERT_EQ(after.size(), 2u);
  const fs::path added = after[0] == before[0] ? after[1] : after[0];
  EXPECT_EQ(bytes_of(before[0]), old_bytes);
  // The new file: the resumed steps, as metrics.jsonl has them from step 3 on.
  std::vector<json> resumed;
  for (const json& rec : all_records(c.log_path()))
    if (rec["step"].get<int64_t>() > 2) resumed.push_back(rec);
  const auto events = decode_records(bytes_of(added));
  EXPECT_EQ(events.at(0).file_version(), "brain.Event:2");
  expect_events_match(events, resumed);
  EXPECT_EQ(events.back().step(), r.step);
}

TEST(TensorBoard, ResumingARunWithoutEventFilesReplaysItsKeptRecordsUnderCurrentNames) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 1}, {"data", {{"heldout", nullptr}}}});
  SftRunOptions first;
  first.stop_after = 2;
  run_sft(c, first);
  // Make it a run from before the event files and the renames.
  for (const fs::path& p : event_files(c.out_dir)) fs::remove(p);
  const std::string old_log = under_old_names(c.log_path());
  std::ofstream(c.log_path()) << old_log;
  SftRunOptions again;
  again.resume = true;
  ASSERT_TRUE(run_sft(c, again).finished);
  const auto files = event_files(c.out_dir);
  ASSERT_EQ(files.size(), 1u);
  std::vector<json> current;
  for (const json& rec : all_records(c.log_path())) current.push_back(with_current_names(rec));
  expect_events_match(decode_records(bytes_of(files[0])), current);
}

TEST(MetricNames, OldRecordsReadUnderTheCurrentNames) {
  const json sft_train = {{"type", "train"}, {"step", 3}, {"lr", 0.1}, {"loss", 2.0}, {"grad_norm", 1.0}};
  EXPECT_EQ(with_current_names(sft_train),
            json({{"type", "train"}, {"step", 3}, {"learning_rate", 0.1}, {"loss", 2.0}, {"grad_norm", 1.0}}));
  EXPECT_EQ(with_current_names({{"type", "eval"}, {"step", 0}, {"heldout_loss", 1.5}, {"heldout_tokens", 9}}),
            json({{"type", "eval"}, {"step", 0}, {"eval_loss", 1.5}, {"eval_tokens", 9}}));
  // GRPO: the two spreads trade names (TRL's reward_std is the mean spread within groups), terms flatten.
  const json grpo_old = {{"type", "train"},        {"step", 1},           {"lr", 1e-6},
                         {"reward_std", 0.5},      {"group_reward_std", 0.2}, {"clip_region", 0.1},
                         {"zero_std_fraction", 0.25}, {"truncated_ratio", 0.0}, {"reward_terms", {{"recall", 0.75}}}};
  const json grpo = with_current_names(grpo_old);
  EXPECT_EQ(grpo["reward_batch_std"], 0.5);
  EXPECT_EQ(grpo["reward_std"], 0.2);
  EXPECT_EQ(grpo["clip_ratio/region_mean"], 0.1);
  EXPECT_EQ(grpo["frac_reward_zero_std"], 0.25);
  EXPECT_EQ(grpo["completions/clipped_ratio"], 0.0);
  EXPECT_EQ(grpo["rewards/recall/mean"], 0.75);
  EXPECT_FALSE(grpo.contains("reward_terms"));
  EXPECT_EQ(with_current_names({{"type", "eval"}, {"step", 2}, {"mean", 0.4}, {"best", true}}),
            json({{"type", "eval"}, {"step", 2}, {"eval_mean", 0.4}, {"best", true}}));
  // A current record, and one that is no metrics record, come back as they are.
  EXPECT_EQ(with_current_names(grpo), grpo);
  const json data = {{"type", "data"}, {"step", 0}, {"mean", 3}};
  EXPECT_EQ(with_current_names(data), data);
}

TEST(MetricPlots, AnSftRunDrawsItsCurvesAndAnOldLogDrawsTheSame) {
  SftFixture f;
  const SftConfig c = f.config({{"epochs", 1}, {"eval", {{"every", 2}}}});
  ASSERT_TRUE(run_sft(c).finished);
  const fs::path plots = fs::path(c.out_dir) / "plots";
  const size_t steps = read_records(c.log_path(), "train").size(), evals = read_records(c.log_path(), "eval").size();
  for (const auto& [file, points] : std::vector<std::pair<std::string, size_t>>{
           {"loss.svg", steps}, {"learning_rate.svg", steps}, {"grad_norm.svg", steps}, {"eval_loss.svg", evals}}) {
    const std::string svg = bytes_of(plots / file);
    EXPECT_EQ(xml_problem(svg), "") << file;
    EXPECT_EQ(polyline_sizes(svg), std::vector<size_t>{points}) << file;
  }
  EXPECT_FALSE(fs::exists(plots / "reward.svg")) << "no GRPO charts for an SFT run";
  // The same log under the old names.
  const std::string old_path = f.dir.write("old.jsonl", under_old_names(c.log_path())).string();
  const auto written = write_metric_plots(old_path, (f.dir.path / "old_plots").string());
  EXPECT_EQ(written, (std::vector<std::string>{"loss.svg", "learning_rate.svg", "grad_norm.svg", "eval_loss.svg"}));
  for (const std::string& file : written) EXPECT_EQ(bytes_of(f.dir.path / "old_plots" / file), bytes_of(plots / file));
}
