#!/usr/bin/env node
// Golden ids of configs/tiny-tokenizer.json from Hugging Face `tokenizers` (the Rust library through its npm
// package, the same code as the Python one), for TinyTokenizer.EncodesAsHuggingFaceTokenizersDoes in
// tests/data/test_bpe_train.cpp. The texts are every render of tests/fixtures/chat/golden.json (conversations and
// plan samples, prompt + target) and a few strings the tokenizer never saw (emoji, other scripts, control
// characters, special tokens, runs of spaces and newlines).
//
// From the repository root:
//   npm install --prefix /tmp/hf-tokenizers tokenizers@0.23.2
//   NODE_PATH=/tmp/hf-tokenizers/node_modules node tests/golden/make_tiny_tokenizer_fixture.js
// writes tests/fixtures/tokenizer/tiny_hf_golden.json.
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const root = path.resolve(__dirname, '..', '..');
const chat = JSON.parse(fs.readFileSync(path.join(root, 'tests/fixtures/chat/golden.json'), 'utf8'));
const texts = [
  '',
  ' ',
  '   leading and trailing   ',
  'emoji \u{1F600}\u{1F389} and a flag \u{1F1F5}\u{1F1F9}',
  '\u4E2D\u6587, \u00FCn\u00EFc\u00F6d\u00E9, \u043A\u0438\u0440\u0438\u043B\u043B\u0438\u0446\u0430',
  'tabs\tand\r\nCRLF\n\n\nthree newlines',
  'digits 0123456789 3.14159 +351 912 345 678',
  'specials <bos><|turn>user\nhi<turn|>\n<|channel>thought\n<channel|><|tool_response><|"|>x<|"|><unused3>',
  'not specials: <|turn <turn| <unused> [multimodal',
  '{"plugins":[{"pluginId":"plugin-1714396000","name":"Garden Sprinkler"}]}',
  ...chat.conversations.map((c) => c.rendered),
  ...chat.plan_samples.map((p) => p.prompt + p.target),
];

(async () => {
  const tok = Tokenizer.fromFile(path.join(root, 'configs/tiny-tokenizer.json'));
  const cases = [];
  for (const text of texts) {
    const ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
    const withBos = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
    cases.push({ text, ids, ids_with_bos: withBos, decoded: await tok.decode(ids, false) });
  }
  const out = {
    generator: 'tests/golden/make_tiny_tokenizer_fixture.js',
    tokenizers_version: require('tokenizers/package.json').version,
    vocab_size: tok.getVocabSize(true),
    cases,
  };
  const lines = ['{'];
  for (const k of ['generator', 'tokenizers_version', 'vocab_size']) lines.push(`"${k}": ${JSON.stringify(out[k])},`);
  lines.push('"cases": [');
  cases.forEach((c, i) => lines.push(JSON.stringify(c) + (i + 1 < cases.length ? ',' : '')));
  lines.push(']', '}', '');
  fs.writeFileSync(path.join(root, 'tests/fixtures/tokenizer/tiny_hf_golden.json'), lines.join('\n'));
  console.log(`${cases.length} cases, vocab ${out.vocab_size}`);
})();
