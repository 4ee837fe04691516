#!/usr/bin/env bash
# Runs each libFuzzer harness of fuzz/ (or those named) for SECONDS on a scratch copy of its committed corpus
# (fuzz/corpus/<name>/), so new inputs never land in the repository. Fails on any crash, leak, timeout or
# out-of-memory; the input that caused it is kept under build-asan/fuzz-artifacts/. FUZZ_RUNS=N also stops a
# harness after N executions (whichever comes first); FUZZ_SEED=N fixes libFuzzer's seed, so a run repeats the last.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]        e.g. scripts/fuzz.sh 30, scripts/fuzz.sh 600 plan tokenizer
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
scripts/sanitize.sh --fuzzers >/dev/null

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in fuzz/corpus/*/; do names+=("$(basename "$d")"); done
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
artifacts="$PWD/build-asan/fuzz-artifacts"
mkdir -p "$artifacts"
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs+=(-runs="$FUZZ_RUNS")
[ -n "${FUZZ_SEED:-}" ] && runs+=(-seed="$FUZZ_SEED")

export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:${LSAN_OPTIONS:-}"
failed=()
for n in "${names[@]}"; do
  bin="build-asan/fuzz/fuzz_$n"
  [ -x "$bin" ] || { echo "fuzz: no harness $bin" >&2; exit 2; }
  mkdir -p "$work/$n"
  cp -r "fuzz/corpus/$n/." "$work/$n/"
  log="$work/$n.log"
  rc=0
  "$bin" "$work/$n" -dict=fuzz/json.dict -max_total_time="$seconds" "${runs[@]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$n-" >"$log" 2>&1 || rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  if [ "$rc" -ne 0 ]; then
    failed+=("$n")
    echo "fuzz: $n FAILED (exit $rc) after ${execs:-?} executions; input under $artifacts/"
    grep -E "ERROR|SUMMARY|Test unit written|#[0-9]+ +0x" "$log" | head -30
  else
    echo "fuzz: $n ok: ${execs:-?} executions, ${rate:-?} exec/s, corpus $(ls "$work/$n" | wc -l) inputs"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: all ${#names[@]} harnesses clean (${seconds}s each)"
