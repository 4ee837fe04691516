#pragma once
// Error-path assertions: the call must throw gt::Error, and the message must name what went wrong.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "base/error.h"

namespace gt::testing {

// Expects `f` to throw gt::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> parts) {
  try {
    f();
    ADD_FAILURE() << "no gt::Error thrown";
  } catch (const Error& e) {
    for (const char* p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

}  // namespace gt::testing
