// An `eval --completions` file, checked against a fixed set of samples, and each completion scored as eval scores it.
#include "data/plan_sample.h"
#include "eval/eval.h"
#include "fuzz/fuzz_support.h"
#include "rl/reward.h"

namespace {

const std::vector<gt::data::PlanSample>& samples() {
  static const auto s = gt::data::read_samples(gt::fuzz::write_scratch("samples.jsonl", R"(
{"id":"s1","category":"1_step","candidates":[{"pluginId":"plugin-weather","name":"Weather Now","description":"Weather","identifier":"rest_api","method":"GET"}],"messages":[{"role":"user","content":"Weather in Oslo?"}],"target":{"thinking":"","plan":{"plugins":[{"pluginId":"plugin-weather","api_request_parameters":{"city":"Oslo"},"all_parameters_hydrated":true,"dependencies":[]}]}}}
{"id":"s2","category":"2_step","candidates":[{"pluginId":"a","name":"A","description":"a","identifier":"rest_api","method":"GET"},{"pluginId":"b","name":"B","description":"b","identifier":"rest_api","method":"POST"}],"messages":[{"role":"user","content":"a then b"}],"target":{"thinking":"","plan":{"plugins":[{"pluginId":"a","api_request_parameters":{"q":"x"},"all_parameters_hydrated":true,"dependencies":[]},{"pluginId":"b","api_request_parameters":{"r":1},"all_parameters_hydrated":true,"dependencies":["a"]}]}}}
)"));
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& ss = samples();
  const auto path = gt::fuzz::write_scratch("completions.jsonl", gt::fuzz::as_text(data, size));
  gt::fuzz::expect_value_or_error([&] {
    const auto completions = gt::eval::read_completions(path, ss);
    for (const auto& s : ss) {
      const gt::rl::Score score = gt::rl::score_completion(completions.at(s.id), gt::rl::Reference::of(s));
      (void)score.to_json().dump();
    }
  });
  return 0;
}
