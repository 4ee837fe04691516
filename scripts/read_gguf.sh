#!/usr/bin/env bash
# Reads a GGUF file with Hugging Face's reader (the npm package @huggingface/gguf, installed on first use into a
# cache outside the repository) and prints its metadata and tensor infos as one JSON object:
#   {"metadata": {key: value, ...}, "tensors": [{"name", "shape" (GGUF order, innermost first), "dtype"}, ...]}
# 64-bit integers are printed as JSON numbers. Used by tests/export to check what export --format gguf writes.
set -euo pipefail

readonly PKG="@huggingface/gguf@0.4.6"
[ $# -eq 1 ] || { echo "usage: $0 FILE.gguf" >&2; exit 2; }
file="$(realpath "$1")"
prefix="${GT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gemma-tune}/npm-gguf"

command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "read_gguf: node and npm are needed to install $PKG" >&2; exit 1; }
if [ ! -f "$prefix/node_modules/@huggingface/gguf/package.json" ]; then
  mkdir -p "$prefix"
  if ! npm install --prefix "$prefix" --loglevel=error --no-audit --no-fund "$PKG" >"$prefix/npm.log" 2>&1; then
    echo "read_gguf: 'npm install $PKG' failed (is the npm registry reachable?):" >&2
    cat "$prefix/npm.log" >&2
    exit 1
  fi
fi

cd "$prefix"
GGUF_FILE="$file" node --input-type=module -e '
import { gguf } from "@huggingface/gguf";
const { metadata, tensorInfos } = await gguf(process.env.GGUF_FILE, { allowLocalFile: true });
const plain = (v) => typeof v === "bigint" ? Number(v) : Array.isArray(v) ? v.map(plain) : v;
const meta = {};
for (const [k, v] of Object.entries(metadata)) meta[k] = plain(v);
const tensors = tensorInfos.map((t) => ({ name: t.name, shape: t.shape.map(Number), dtype: t.dtype, offset: Number(t.offset) }));
process.stdout.write(JSON.stringify({ metadata: meta, tensors }));
'
