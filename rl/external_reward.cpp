#include "rl/external_reward.h"

#include <charconv>
#include <cmath>

#include "base/error.h"
#include "base/subprocess.h"

namespace gt::rl {

double ExternalReward::operator()(const nlohmann::json& sample, std::string_view completion) const {
  const std::string who = "reward command '" + command + "'";
  const std::string input = nlohmann::json{{"sample", sample}, {"completion", std::string(completion)}}.dump(
                                -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                            "\n";
  // One number needs far less than 64 KiB; more means the command is confused.
  const std::string out = run_shell_filter(command, input, {who, timeout, 64 * 1024, "one number"});

  const char* ws = " \t\r\n";
  const auto b = out.find_first_not_of(ws);
  const std::string text = b == std::string::npos ? "" : out.substr(b, out.find_last_not_of(ws) - b + 1);
  if (text.empty()) fail(who, ": printed nothing; expected one number");
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
    fail(who, ": printed '", text.size() > 200 ? text.substr(0, 200) + "..." : text, "'; expected one finite number");
  return value;
}

}  // namespace gt::rl
