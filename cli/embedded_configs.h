#pragma once
// configs/ files compiled into the binary (CMakeLists.txt generates the definition): the demo's defaults.
#include <string_view>

namespace gt::cli {

// The bytes of the file with that name under configs/; empty when none is embedded.
std::string_view embedded_config(std::string_view name);

}  // namespace gt::cli
