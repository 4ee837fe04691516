// report.json as `eval --compare` reads it: the summary table and, with a completions.jsonl beside it, the per-sample
// scores that need the weights the report records.
#include "eval/paired.h"
#include "eval/report.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto completions = gt::fuzz::write_scratch(
      "completions.jsonl",
      "{\"id\":\"s1\",\"completion\":\"x\",\"reward\":0.5}\n{\"id\":\"s2\",\"completion\":\"y\",\"reward\":0.25}\n");
  (void)completions;
  const auto path = gt::fuzz::write_scratch("report.json", gt::fuzz::as_text(data, size));
  gt::fuzz::expect_value_or_error([&] {
    const gt::eval::Report r = gt::eval::read_report(path);
    (void)gt::eval::markdown_table(r);
    (void)gt::eval::to_json(r).dump();
  });
  gt::fuzz::expect_value_or_error([&] { (void)gt::eval::markdown_compare_reports(path, "A", path, "B"); });
  return 0;
}
