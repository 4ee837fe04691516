#!/usr/bin/env bash
# Sends chat requests to an OpenAI-compatible server with the official `openai` npm client (installed on first use
# into a cache outside the repository), all at once and streamed, and prints one JSON array with, per request,
#   {"token_ids": [...], "content": "...", "finish_reason": "..."}
# token_ids are vLLM's return_token_ids extension, which `gemma-tune serve` answers. REQUESTS is a JSON file with a
# list of {"messages", "max_tokens"}. Used by tests/serve to hold `serve` to `generate`'s greedy tokens.
set -euo pipefail

readonly PKG="openai@4.104.0"
[ $# -eq 3 ] || { echo "usage: $0 BASE_URL MODEL REQUESTS.json" >&2; exit 2; }
requests="$(realpath "$3")"
source "$(dirname "$0")/npm_cached.sh"
npm_cached openai_chat "$PKG" npm-openai

cd "$npm_prefix"
BASE_URL="$1" MODEL="$2" REQUESTS="$requests" node --input-type=module -e '
import OpenAI from "openai";
import { readFileSync } from "node:fs";
const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: "unused", maxRetries: 0 });
const requests = JSON.parse(readFileSync(process.env.REQUESTS, "utf8"));
const one = async ({ messages, max_tokens }) => {
  const stream = await client.chat.completions.create({
    model: process.env.MODEL, messages, max_tokens, temperature: 0, stream: true, return_token_ids: true,
  });
  const out = { token_ids: [], content: "", finish_reason: null };
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.token_ids) out.token_ids.push(...choice.token_ids);
    if (choice.delta?.content) out.content += choice.delta.content;
    if (choice.finish_reason) out.finish_reason = choice.finish_reason;
  }
  return out;
};
process.stdout.write(JSON.stringify(await Promise.all(requests.map(one))));
'
