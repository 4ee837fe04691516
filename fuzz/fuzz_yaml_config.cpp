// YAML run configs (base/yaml_file.h, Debian's yaml-cpp underneath): the YAML-to-JSON conversion on its own, and
// the SFT reader given the same text as a .yaml file.
#include "base/yaml_file.h"
#include "fuzz/fuzz_support.h"
#include "train/sft_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = gt::fuzz::as_text(data, size);
  gt::fuzz::expect_value_or_error([&] { (void)gt::parse_yaml(text, "fuzz.yaml").dump(); });
  const auto path = gt::fuzz::write_scratch("config.yaml", text).string();
  gt::fuzz::expect_value_or_error([&] { (void)gt::train::to_json(gt::train::load_sft_config(path)).dump(); });
  return 0;
}
