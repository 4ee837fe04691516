// A completion's plan (§2): the object taken out of the model's text, then every plan rule the reward and the eval
// metrics apply to it.
#include "data/plan.h"
#include "fuzz/fuzz_support.h"
#include "rl/completion_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gt::fuzz::expect_value_or_error([&] {
    const auto plan = gt::rl::parse_completion(gt::fuzz::as_text(data, size));
    if (!plan) return;
    std::string why;
    const auto steps = gt::data::plan_steps(*plan, &why, "plan");
    if (!steps) return;
    for (const auto& step : *steps) {
      (void)gt::data::step_hydrated(step);
      (void)gt::data::step_hydrated(step, &step.params);
    }
    (void)gt::data::has_dependency_cycle(*steps);
  });
  return 0;
}
