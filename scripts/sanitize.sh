#!/usr/bin/env bash
# The sanitizer build: clang with AddressSanitizer and UndefinedBehaviorSanitizer (any undefined behaviour fatal),
# CPU only, portable x86-64-v3 code, into build-asan/. The same folder holds the libFuzzer harnesses that
# scripts/fuzz.sh runs. Needs the packages of scripts/setup.sh; installs clang and libFuzzer's runtime when missing.
#
#   scripts/sanitize.sh            configure, build, run the test suite under the sanitizers
#   scripts/sanitize.sh --build    configure and build only
#   scripts/sanitize.sh --fuzzers  configure and build the fuzz harnesses only
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"

source scripts/install_missing.sh
install_missing sanitize clang libclang-rt-14-dev

if [ ! -f build-asan/CMakeCache.txt ]; then
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGT_FUZZ=ON \
    -DGT_CUDA=OFF -DGT_NATIVE=OFF -DGT_BUILD_BENCH=OFF ${GT_CMAKE_ARGS:-} >/dev/null
fi
if [ "$mode" = "--fuzzers" ]; then
  cmake --build build-asan -j"${GT_JOBS:-2}" --target fuzzers
  exit 0
fi
cmake --build build-asan -j"${GT_JOBS:-2}"
[ "$mode" = "--build" ] && exit 0

# Leaks are errors; a UBSan report names its stack and stops the test (the build makes every check fatal).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
# GT_SANITIZE_EXCLUDE: a ctest -E regex of tests to leave out (none by default).
exclude=()
[ -n "${GT_SANITIZE_EXCLUDE:-}" ] && exclude=(-E "$GT_SANITIZE_EXCLUDE")
ctest --test-dir build-asan --output-on-failure -j"${GT_JOBS:-2}" "${exclude[@]}"
echo "sanitize: the test suite passed under ASan/UBSan"
