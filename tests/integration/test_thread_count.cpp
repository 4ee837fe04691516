// The thread count changes no bit: the same tiny SFT and GRPO runs through the binary at GT_NUM_THREADS 1, 2, 3 and
// 8 log the same losses, gradient norms, held-out losses and rewards and export byte-identical weights. The batches
// are long enough (4 samples of ~200 tokens) that the weight-gradient GEMMs reduce over K > 256 and cut C into
// several tiles, where OpenBLAS's own threading changed last bits with the thread count.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "rl/grpo_fixture.h"
#include "support/files.h"
#include "train/sft_fixture.h"

using namespace gt;
using namespace gt::testing;

namespace {

constexpr int kThreads[] = {1, 2, 3, 8};

std::string bytes_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

json without_clock(json r) {
  for (const char* k :
         {"update_tokens_per_s", "rollout_tokens_per_s", "tokens_per_s", "eval_tokens_per_s", "elapsed_s", "path"})
    r.erase(k);
  return r;
}

// Runs `command` (sft or grpo) with each thread count into out dirs t1, t2, ... and checks every record of `types`
// and the exported weights against the one-thread run's.
template <typename Fixture>
void expect_same_bits_at_every_thread_count(const Fixture& f, const std::string& command, const json& settings,
                                            const std::string& dir, std::initializer_list<const char*> types) {
  std::string first_out;
  for (int t : kThreads) {
    const std::string name = "t" + std::to_string(t), out = dir + "/" + name;
    const CommandResult r = run_command("GT_NUM_THREADS=" + std::to_string(t) + " " + GT_BINARY + " " + command +
                                        " --config " + f.config_file(settings, name));
    ASSERT_EQ(r.rc, 0) << "threads " << t << "\n" << r.output;
    if (first_out.empty()) {
      first_out = out;
      ASSERT_FALSE(read_records(out + "/metrics.jsonl", "train").empty());
      continue;
    }
    for (const char* type : types) {
      const auto a = read_records(first_out + "/metrics.jsonl", type), b = read_records(out + "/metrics.jsonl", type);
      ASSERT_EQ(a.size(), b.size()) << type << " at " << t << " threads";
      for (size_t i = 0; i < a.size(); ++i)
        EXPECT_EQ(without_clock(a[i]), without_clock(b[i])) << type << " record " << i << " at " << t << " threads";
    }
    EXPECT_TRUE(bytes_of(first_out + "/final/model.safetensors") == bytes_of(out + "/final/model.safetensors"))
        << "final weights differ at " << t << " threads";
  }
}

}  // namespace

TEST(ThreadCount, SftLogsAndWeightsAreBitIdenticalAt1_2_3And8Threads) {
  SftFixture f;
  const json settings = {{"epochs", 2}, {"batch_size", 4}, {"eval", {{"every", 1}}}};
  expect_same_bits_at_every_thread_count(f, "sft", settings, f.dir.path.string(), {"train", "eval"});
}

TEST(ThreadCount, GrpoLogsAndWeightsAreBitIdenticalAt1_2_3And8Threads) {
  GrpoFixture f;
  const json settings = {{"max_steps", 3},
                         {"reward", {{"command", kSpecialTokenReward}}},
                         {"generation", {{"max_completion_length", 48}}},
                         {"eval", {{"every", 3}}}};
  expect_same_bits_at_every_thread_count(f, "grpo", settings, f.sft.dir.path.string(),
                                         {"train", "samples", "eval"});
}
