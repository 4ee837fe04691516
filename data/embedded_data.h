#pragma once
// data/ files compiled into the binary (CMakeLists.txt generates the definition), so `data synth` needs no path.
#include <string_view>

namespace gt::data {

// The bytes of the file with that name under data/; empty when none is embedded.
std::string_view embedded_data(std::string_view name);

}  // namespace gt::data
