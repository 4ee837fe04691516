#!/usr/bin/env bash
# Reads a GGUF file with Hugging Face's reader (the npm package @huggingface/gguf, installed on first use into a
# cache outside the repository) and prints its metadata and tensor infos as one JSON object:
#   {"metadata": {key: value, ...}, "tensors": [{"name", "shape" (GGUF order, innermost first), "dtype"}, ...]}
# 64-bit integers are printed as JSON numbers. Used by tests/export to check what export --format gguf writes.
set -euo pipefail

readonly PKG="@huggingface/gguf@0.4.6"
[ $# -eq 1 ] || { echo "usage: $0 FILE.gguf" >&2; exit 2; }
file="$(realpath "$1")"
source "$(dirname "$0")/npm_cached.sh"
npm_cached read_gguf "$PKG" npm-gguf

cd "$npm_prefix"
GGUF_FILE="$file" node --input-type=module -e '
import { gguf } from "@huggingface/gguf";
const { metadata, tensorInfos } = await gguf(process.env.GGUF_FILE, { allowLocalFile: true });
const plain = (v) => typeof v === "bigint" ? Number(v) : Array.isArray(v) ? v.map(plain) : v;
const meta = {};
for (const [k, v] of Object.entries(metadata)) meta[k] = plain(v);
const tensors = tensorInfos.map((t) => ({ name: t.name, shape: t.shape.map(Number), dtype: t.dtype, offset: Number(t.offset) }));
process.stdout.write(JSON.stringify({ metadata: meta, tensors }));
'
