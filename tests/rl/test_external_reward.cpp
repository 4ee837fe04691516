#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include "autograd/error.h"
#include "rl/external_reward.h"
#include "support/files.h"

using gt::rl::ExternalReward;
using namespace std::chrono_literals;

namespace {

const nlohmann::json kSample = {{"id", "s-7"}, {"category", "1_step"}};

std::string error_of(const ExternalReward& r, std::string_view completion = "hi") {
  try {
    r(kSample, completion);
  } catch (const gt::Error& e) {
    return e.what();
  }
  return "";
}

void expect_no_children_left() {
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
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

TEST(ExternalReward, CommandThatIgnoresALargeInputStillCounts) {
  std::string big(1 << 20, 'x');
  EXPECT_DOUBLE_EQ((ExternalReward{"echo 0.5"}(kSample, big)), 0.5);
  expect_no_children_left();
}

TEST(ExternalReward, TimeoutKillsTheCommandAndWhatItStarted) {
  gt::testing::TempDir tmp;
  auto marker = tmp.path / "marker";
  ExternalReward r{"(sleep 1; touch " + marker.string() + ") & sleep 30", 200ms};
  auto t0 = std::chrono::steady_clock::now();
  std::string err = error_of(r);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(err.find("reward command '" + r.command + "'"), std::string::npos) << err;
  EXPECT_NE(err.find("timed out after 0.2 s"), std::string::npos) << err;
  EXPECT_LT(took, 5s);
  expect_no_children_left();
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the background job outlived the timeout";
}

TEST(ExternalReward, CommandThatClosesItsOutputButKeepsRunningTimesOut) {
  std::string err = error_of(ExternalReward{"exec >&-; sleep 30", 200ms});
  EXPECT_NE(err.find("timed out"), std::string::npos) << err;
  expect_no_children_left();
}

TEST(ExternalReward, CrashAndNonZeroExitAreErrorsNamingTheCommand) {
  std::string err = error_of(ExternalReward{"kill -SEGV $$"});
  EXPECT_NE(err.find("reward command 'kill -SEGV $$'"), std::string::npos) << err;
  EXPECT_NE(err.find("killed by signal 11"), std::string::npos) << err;

  err = error_of(ExternalReward{"echo 'model not found' >&2; echo 0.5; exit 3"});
  EXPECT_NE(err.find("exited with status 3"), std::string::npos) << err;
  EXPECT_NE(err.find("model not found"), std::string::npos) << err;

  err = error_of(ExternalReward{"/no/such/program"});
  EXPECT_NE(err.find("exited with status 127"), std::string::npos) << err;
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

TEST(ExternalReward, ConcurrentCallsDoNotMixTheirPipes) {
  std::vector<std::thread> threads;
  std::vector<double> got(8, -1);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back(
        [&, i] { got[i] = ExternalReward{"cat >/dev/null; echo " + std::to_string(i)}(kSample, "x"); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(got[i], i);
  expect_no_children_left();
}
