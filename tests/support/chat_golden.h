#pragma once
// tests/fixtures/chat/golden.json: conversations and plan samples rendered by the reference chat template (and
// tokenized), made by tests/golden/make_chat_fixtures.py. Read once per test binary.
#include <nlohmann/json.hpp>

#include "base/json_file.h"

namespace gt::testing {

inline const nlohmann::json& chat_golden() {
  static const nlohmann::json g = read_json_file(GT_FIXTURES "/chat/golden.json");
  return g;
}

}  // namespace gt::testing
