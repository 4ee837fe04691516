// A reward weights file (`--weights`, the GRPO config's reward.weights), then a completion scored with it.
#include "data/plan_sample.h"
#include "fuzz/fuzz_support.h"
#include "rl/reward.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const gt::rl::Reference ref = [] {
    gt::rl::Reference r;
    r.candidates = {"a", "b"};
    r.gold = *gt::data::plan_steps(nlohmann::json::parse(
        R"({"plugins":[{"pluginId":"a","api_request_parameters":{"q":"x"},"all_parameters_hydrated":true}]})"));
    return r;
  }();
  const auto path = gt::fuzz::write_scratch("weights.json", gt::fuzz::as_text(data, size));
  gt::fuzz::expect_value_or_error([&] {
    const gt::rl::RewardWeights w = gt::rl::RewardWeights::load(path);
    (void)w.max_reward();
    (void)w.to_json().dump();
    const char* completion =
        R"({"plugins":[{"pluginId":"a","api_request_parameters":{"q":"x"},"all_parameters_hydrated":true},)"
        R"({"pluginId":"c"},{"pluginId":"d"},{"pluginId":"e"},{"pluginId":"f"}]})";
    (void)gt::rl::score_completion(completion, ref, w).to_json().dump();
  });
  return 0;
}
