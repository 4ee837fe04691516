#include <gtest/gtest.h>

#include <chrono>

#include "base/error.h"
#include "rl/external_reward.h"
#include "support/error_message.h"
#include "support/processes.h"

using gt::rl::ExternalReward;
using gt::testing::expect_no_children_left;
using gt::testing::thrown_message;
using namespace std::chrono_literals;

namespace {

const nlohmann::json kSample = {{"id", "s-7"}, {"category", "1_step"}};

std::string error_of(const ExternalReward& r, std::string_view completion = "hi") {
  return thrown_message<gt::Error>([&] { r(kSample, completion); });
}

}  // namespace

TEST(ExternalReward, ReadsTheNumberItPrints) {
  EXPECT_DOUBLE_EQ((ExternalReward{"cat >/dev/null; echo ' 0.75 '"}(kSample, "x")), 0.75);
  EXPECT_DOUBLE_EQ((ExternalReward{"echo -2e-1"}(kSample, "x")), -0.2);
  expect_no_children_left();
}

TEST(ExternalReward, GetsOneJsonLineWithSampleAndCompletion) {
  // grep -c counts matching lines: exactly one line carrying both fields.
  ExternalReward r{R"(grep -c '^{"completion":"say \\"hi\\"\\n","sample":{"category":"1_step","id":"s-7"}}$')"};
  EXPECT_DOUBLE_EQ(r(kSample, "say \"hi\"\n"), 1.0);
}

// How the command runs (timeouts, process groups, exit statuses, concurrency) is tests/train/test_subprocess.cpp's;
// here, that the reward hands its name and its timeout to it.
TEST(ExternalReward, ErrorsNameTheRewardCommandAndItsTimeoutApplies) {
  std::string err = error_of(ExternalReward{"echo 'model not found' >&2; echo 0.5; exit 3"});
  EXPECT_NE(err.find("reward command 'echo 'model not found' >&2; echo 0.5; exit 3': exited with status 3"),
            std::string::npos)
      << err;
  err = error_of(ExternalReward{"sleep 30", 200ms});
  EXPECT_NE(err.find("reward command 'sleep 30': timed out after 0.2 s"), std::string::npos) << err;
  expect_no_children_left();
}

TEST(ExternalReward, OutputThatIsNotOneNumberIsAnError) {
  for (const char* cmd : {"echo hello", "echo", "echo 0.5 0.6", "echo nan", "echo inf", "echo 0.5x"}) {
    std::string err = error_of(ExternalReward{cmd});
    EXPECT_NE(err.find(std::string("reward command '") + cmd + "'"), std::string::npos) << err;
    EXPECT_TRUE(err.find("expected one") != std::string::npos) << err;
  }
  expect_no_children_left();
}
