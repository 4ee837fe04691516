#pragma once
// configs/ files compiled into the binary (CMakeLists.txt generates the definitions): the demo's defaults.
#include <string_view>
#include <vector>

namespace gt::cli {

struct EmbeddedFile {
  std::string_view name;  // the file's name under configs/
  std::string_view text;  // its bytes
};

const std::vector<EmbeddedFile>& embedded_configs();

}  // namespace gt::cli
