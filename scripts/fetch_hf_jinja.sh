#!/usr/bin/env bash
# Fetches @huggingface/jinja (MIT; the Jinja that the Hub's JavaScript chat tooling renders templates with) from the
# npm registry, checks the tarball's sha256, unpacks it into a cache outside the repository and prints the package
# folder (tests/golden/render_chat_template.mjs imports it from there). A cached copy is reused without the network.
set -euo pipefail

readonly PKG="@huggingface/jinja@0.5.13"
readonly TARBALL="huggingface-jinja-0.5.13.tgz"
readonly SHA256="f191fb8332ae4d5cdf73682ced93ccc58c25021cf338ae0795f7652985c2c0e1"

cache_dir="${GT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gemma-tune}/hf-jinja-0.5.13"
if [ -f "$cache_dir/package/dist/index.js" ]; then
  echo "$cache_dir/package"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch_hf_jinja: npm is not installed; it is needed to fetch $PKG" >&2; exit 1; }
mkdir -p "$(dirname "$cache_dir")"
work="$(mktemp -d "$(dirname "$cache_dir")/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if ! (cd "$work" && npm pack --loglevel=error "$PKG" >"$work/npm.log" 2>&1) || [ ! -f "$work/$TARBALL" ]; then
  echo "fetch_hf_jinja: 'npm pack $PKG' failed (is the npm registry reachable?):" >&2
  cat "$work/npm.log" >&2
  exit 1
fi
if [ "$(sha256sum "$work/$TARBALL" | cut -d' ' -f1)" != "$SHA256" ]; then
  echo "fetch_hf_jinja: $TARBALL has sha256 $(sha256sum "$work/$TARBALL" | cut -d' ' -f1), expected $SHA256" >&2
  exit 1
fi
mkdir -p "$work/out"
tar -xzf "$work/$TARBALL" -C "$work/out"
# A rename on the same filesystem: a concurrent reader sees the whole package or none.
mv -T "$work/out" "$cache_dir" 2>/dev/null || [ -f "$cache_dir/package/dist/index.js" ]
echo "$cache_dir/package"
