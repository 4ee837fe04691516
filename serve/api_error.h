#pragma once
// An HTTP error in the OpenAI API's shape (docs/serve.md): a status and the body
// {"error": {"message", "type", "param", "code"}}, param and code null when they do not apply.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace gt::serve {

struct ApiError : std::runtime_error {
  int status;
  std::string param, code;
  ApiError(int status, const std::string& message, std::string param = {}, std::string code = {})
      : std::runtime_error(message), status(status), param(std::move(param)), code(std::move(code)) {}

  // OpenAI's error types: the client's fault, too many requests, or ours.
  std::string type() const {
    if (status == 429) return "rate_limit_error";
    return status >= 500 ? "server_error" : "invalid_request_error";
  }
  nlohmann::json body() const {
    auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
    return {{"error", {{"message", what()}, {"type", type()}, {"param", or_null(param)}, {"code", or_null(code)}}}};
  }
};

}  // namespace gt::serve
