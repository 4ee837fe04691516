#pragma once
// The message of the error a call throws, for tests that compare it with the exact text a user will read.
#include <functional>
#include <string>

namespace gt::testing {

// What `f` throws as E; "(no error)" when it throws nothing (so a comparison with the expected message fails).
template <class E>
std::string thrown_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace gt::testing
