// run_shell_filter: the shell filter behind rl/'s external reward and research/'s proposer command. Text in, text
// out, and every way a command can misbehave (time out, leave children behind, crash, flood its output, ignore
// its input) ends in an error naming it, with the child reaped.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/subprocess.h"
#include "support/error_message.h"
#include "support/files.h"
#include "support/processes.h"

using gt::run_shell_filter;
using gt::ShellFilter;
using gt::testing::expect_no_children_left;
using gt::testing::thrown_message;
using namespace std::chrono_literals;

namespace {

ShellFilter named(std::string who, std::chrono::milliseconds timeout = 30s) {
  ShellFilter how;
  how.who = std::move(who);
  how.timeout = timeout;
  return how;
}

std::string error_of(const std::string& command, const ShellFilter& how, std::string_view input = "hi") {
  return thrown_message<gt::Error>([&] { run_shell_filter(command, input, how); });
}

}  // namespace

TEST(ShellFilter, PassesItsInputThroughAndReturnsWhatItPrinted) {
  EXPECT_EQ(run_shell_filter("tr a-z A-Z", "one\ntwo\n", named("upcase")), "ONE\nTWO\n");
  EXPECT_EQ(run_shell_filter("wc -c", std::string(100000, 'x'), named("count")), "100000\n");
  expect_no_children_left();
}

TEST(ShellFilter, CommandThatIgnoresALargeInputStillCounts) {
  EXPECT_EQ(run_shell_filter("echo done", std::string(1 << 20, 'x'), named("ignore")), "done\n");
  expect_no_children_left();
}

TEST(ShellFilter, TimeoutKillsTheCommandAndWhatItStarted) {
  gt::testing::TempDir tmp;
  const auto marker = tmp.path / "marker";
  const auto t0 = std::chrono::steady_clock::now();
  const std::string err =
      error_of("(sleep 1; touch " + marker.string() + ") & sleep 30", named("slow command 'x'", 200ms));
  EXPECT_EQ(err.rfind("slow command 'x': timed out after 0.2 s", 0), 0u) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  expect_no_children_left();
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the background job outlived the timeout";
}

TEST(ShellFilter, CommandThatClosesItsOutputButKeepsRunningTimesOut) {
  const std::string err = error_of("exec >&-; sleep 30", named("closer", 200ms));
  EXPECT_NE(err.find("closer: timed out"), std::string::npos) << err;
  expect_no_children_left();
}

TEST(ShellFilter, CrashNonZeroExitAndMissingProgramAreErrorsNamingTheCommand) {
  std::string err = error_of("kill -SEGV $$", named("crasher"));
  EXPECT_NE(err.find("crasher: killed by signal 11"), std::string::npos) << err;

  err = error_of("echo 'model not found' >&2; echo 0.5; exit 3", named("failer"));
  EXPECT_NE(err.find("failer: exited with status 3: model not found"), std::string::npos) << err;

  err = error_of("/no/such/program", named("missing"));
  EXPECT_NE(err.find("missing: exited with status 127"), std::string::npos) << err;
  expect_no_children_left();
}

TEST(ShellFilter, OutputBeyondTheLimitIsAnErrorSayingWhatWasExpected) {
  ShellFilter how = named("chatty");
  how.max_stdout = 1000;
  how.expected = "one line";
  const std::string err = error_of("yes", how);
  EXPECT_NE(err.find("chatty: printed more than 1000 bytes; expected one line"), std::string::npos) << err;
  expect_no_children_left();
}

TEST(ShellFilter, ConcurrentCallsDoNotMixTheirPipes) {
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] { got[i] = run_shell_filter("cat; echo " + std::to_string(i), "n", named("cat")); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(got[i], "n" + std::to_string(i) + "\n");
  expect_no_children_left();
}
