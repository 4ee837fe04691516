#pragma once
// Checks for tests that start child processes: none may be left behind, finished or not.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cerrno>

namespace gt::testing {

// Every child this process started has been reaped (waitpid finds none).
inline void expect_no_children_left() {
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace gt::testing
