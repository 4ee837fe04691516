// A samples file (§1.1 JSON Lines): read, written back, and its gold plans checked as scoring checks them.
#include "data/plan_sample.h"
#include "fuzz/fuzz_support.h"
#include "rl/reward.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = gt::fuzz::write_scratch("samples.jsonl", gt::fuzz::as_text(data, size));
  gt::fuzz::expect_value_or_error([&] {
    for (const gt::data::PlanSample& s : gt::data::read_samples(path)) {
      (void)gt::data::to_json(s).dump();
      (void)s.system_prompt();
      gt::fuzz::expect_value_or_error([&] { (void)gt::rl::Reference::of(s); });
    }
  });
  return 0;
}
