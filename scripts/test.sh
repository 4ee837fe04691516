#!/usr/bin/env bash
# Every test gemma-tune has on a machine without a GPU (what .ci/run runs): the set-up and build of
# scripts/setup.sh, the test suite, the same suite again under AddressSanitizer and UndefinedBehaviorSanitizer
# (scripts/sanitize.sh, build-asan/), and each libFuzzer harness for 30 s on its seed corpus with a fixed seed
# (scripts/fuzz.sh). Each stage prints its wall time. GT_TEST_STAGES="suite" runs the first stage only.
set -euo pipefail
cd "$(dirname "$0")/.."
stages="${GT_TEST_STAGES:-suite sanitize fuzz}"
timed() {
  local name="$1" t0=$SECONDS
  shift
  "$@"
  echo "test.sh: $name took $((SECONDS - t0)) s"
}
timed setup scripts/setup.sh
[[ " $stages " == *" suite "* ]] && timed suite ctest --test-dir build --output-on-failure -j2
[[ " $stages " == *" sanitize "* ]] && timed sanitize scripts/sanitize.sh
[[ " $stages " == *" fuzz "* ]] && FUZZ_SEED="${FUZZ_SEED:-1}" timed fuzz scripts/fuzz.sh 30
echo "test.sh: all stages passed ($stages) in $SECONDS s"
