#!/usr/bin/env python3
"""Golden token ids for tests/data/test_tokenizer_golden.cpp, from Hugging Face `tokenizers` and the real Gemma 3
tokenizer.json (scripts/fetch_gemma_tokenizer.sh fetches it; the GPU machine has `tokenizers`).

Usage: make_tokenizer_fixtures.py TOKENIZER_JSON OUT_JSON [--corpus CORPUS_JSON]
then copy OUT_JSON to tests/fixtures/tokenizer_golden.json.

The strings are generated here, deterministically, and stored in the fixture with their ids, so the C++ test needs
nothing but the fixture and the tokenizer. To keep the file small a field is left out where it holds its default:
  ids_bos      encode(text, add_special_tokens=True); default bos_prefix + ids
  ids_plain    encode with encode_special_tokens=True (special tokens spelled in the text stay text); default ids
  decoded      decode(ids); default text
  decoded_skip decode(ids, skip_special_tokens=True); default decoded
With --corpus, also writes a benchmark corpus (a JSON list of documents: these strings and the Python standard
library's sources) and times `tokenizers` on it, single-threaded, to compare with bench/bench_tokenizer.
"""
import argparse
import hashlib
import json
import os
import random
import sys
import sysconfig
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

SEED = 20261122

# Gemma 4's names for Gemma 3's slots (docs/chat.md §1); data/gemma4_tokenizer.cpp holds the same table.
GEMMA4_RENAMES = [
    (46, "<|tool>", "<unused40>"), (47, "<tool|>", "<unused41>"), (48, "<|tool_call>", "<unused42>"),
    (49, "<tool_call|>", "<unused43>"), (50, "<|tool_response>", "<unused44>"), (51, "<tool_response|>", "<unused45>"),
    (52, '<|"|>', "<unused46>"), (98, "<|think|>", "<unused92>"), (100, "<|channel>", "<unused94>"),
    (101, "<channel|>", "<unused95>"), (105, "<|turn>", "<start_of_turn>"), (106, "<turn|>", "<end_of_turn>"),
    (255999, "<|image>", "<start_of_image>"), (256000, "<|audio>", "<end_of_image>"),
    (258880, "<|image|>", "<unused2978>"), (258881, "<|audio|>", "<unused2979>"), (258882, "<image|>", "<unused2980>"),
    (258883, "<audio|>", "<unused2981>"), (258884, "<|video|>", "<unused2982>"),
]

WORDS = """the of and to in is that for it as was with be by on not he this are or his from at which but have an
they you were her she there been one all we their has would when if so no will more can who out up about into than
them time only some could these two may first then do any like my now over such our man me even most made after also
did many before must through back years where much your way well down should because each just those people how too
little state good very make world still own see men work long get here between both life being under never day same
another know while last might us great old year off come since against go came right used take three tokenizer model
gradient attention transformer layer weight learning rate batch sequence embedding vocabulary function parameter tool
call response plugin orchestrator request schema argument returns error value string number boolean object array
weather calendar search email translate summarize schedule meeting flight hotel booking payment invoice customer""".split()

PHRASES = [
    "Hello, world!", "The quick brown fox jumps over the lazy dog.", "Ça va? Très bien, merci.",
    "Größenwahn ist keine Tugend.", "¿Dónde está la biblioteca?", "Þetta er íslenska.", "Zażółć gęślą jaźń.",
    "Привет, как дела?", "Καλημέρα κόσμε", "Բարեւ աշխարհ", "გამარჯობა მსოფლიო", "שלום עולם", "مرحبا بالعالم",
    "سلام دنیا", "नमस्ते दुनिया", "হ্যালো বিশ্ব", "வணக்கம் உலகம்", "హలో వరల్డ్", "ಹಲೋ ವರ್ಲ್ಡ್", "സലോ വേൾഡ്",
    "สวัสดีชาวโลก", "ສະບາຍດີ", "မင်္ဂလာပါ", "សួស្តី​ពិភពលោក", "你好，世界！", "我爱自然语言处理。", "こんにちは、世界！",
    "東京都は日本の首都です。", "カタカナとひらがな", "안녕하세요 세계", "한국어 형태소 분석", "Xin chào thế giới",
    "Selamat pagi dunia", "Habari dunia", "ሰላም ዓለም", "Сайн байна уу", "བཀྲ་ཤིས་བདེ་ལེགས།", "ᠮᠣᠩᠭᠣᠯ",
    "ᐊᐃᓐᓇᐅᔪᖅ", "Ꭳ ᏍᏆᏂ", "𐌰𐌹𐌽𐍃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙", "ℍ𝕖𝕝𝕝𝕠 ∀x∈ℝ: x²≥0", "e = mc² ≈ 9×10¹⁶ J",
    "Ωμέγα ≠ omega", "naïve café résumé coöperate", "ﬁ ﬂ ﬀ ligatures", "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ",
    "a\u0301 e\u0301 combining", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇", "\u202eRTL override\u202c", "\u200f\u200eLRM RLM",
]

EMOJI = [
    "😀", "😂🤣", "👍", "👍🏽", "👍🏿", "❤️", "❤", "✨🎉🎊", "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏾‍🚀", "🏳️‍🌈", "🏴‍☠️",
    "🇯🇵🇺🇸🇫🇷", "🇺🇳", "1️⃣2️⃣#️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👁️‍🗨️", "🫠🫶🪿", "😀 smile 😀", "I ❤️ NY",
    "family: 👨‍👨‍👧 and 👩‍❤️‍💋‍👩", "🐍 Python 🦀 Rust", "☕️☕", "©️®️™️",
]

SPECIAL_LOOKING = [
    "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "[multimodal]", "<bos><bos>", "<eos>\n<bos>", "text<bos>text",
    "<start_of_turn>user\nHello!<end_of_turn>\n<start_of_turn>model\n",
    "<start_of_turn>model\nSure.<end_of_turn>", "<start_of_turn", "start_of_turn>", "<<start_of_turn>>",
    "< start_of_turn >", "<START_OF_TURN>", "<start_of_turn><end_of_turn>", "<unused0>", "<unused40>", "<unused41>",
    "<unused94>thought<unused95>", "<unused99>", "<unused6241>", "<unused6242>", "<unused-1>", "<unused>",
    "<image_soft_token>", "<start_of_image><image_soft_token><end_of_image>", "<table><tr><td>1</td></tr></table>",
    "<h1>Title</h1>\n<p>Para</p>", "<b>bold</b> <i>it</i> <u>u</u> <s>s</s>", "<sub>2</sub><sup>3</sup>",
    "<blockquote>q</blockquote>", "<|turn>user", "<turn|>", "<|tool_call>call:f{x:1}<tool_call|>", '<|"|>', "<|think|>",
    "<|channel>thought\nhm<channel|>", "<0x0A>", "<0xFF>", "<0x00>", "<0xZZ>", "<0x0a>", "▁", "▁▁", "▁hello",
    "a▁b", "hello▁▁world", "x>▁</y", "a> </b", "<b> </b>", ">▁</", "> </", "text > </tag>", "<tr>\n  <td>x</td>",
    "</", "<", ">", "<>", "<<>>", "&lt;bos&gt;", "\\<bos\\>",
]

WHITESPACE = [
    "", " ", "  ", "   ", " " * 17, " " * 40, " " * 100, "\n", "\n\n", "\n\n\n", "\n" * 31, "\n" * 32, "\n" * 70, "\t",
    "\t\t", "\t" * 31, "\t" * 33, "\r\n", "\r", "\r\n\r\n", " \t \n \r ", "a\n", "\na", " a", "a ", " a ", "a  b",
    "a   b    c", "a\tb", "a\n\nb", "line1\nline2\r\nline3\rline4", "\u00a0", "a\u00a0b", "\u3000", "a\u3000b",
    "\u2028\u2029", "\u0085", "a\u200bb", "\u200c\u200d", "\ufeffBOM", "\u2002\u2003\u2009", "  leading",
    "trailing  ", "\t\tindented\n\t\t\tmore", "    four\n        eight", "mixed \t\n\t tabs", "end\n",
]

UNICODE_BLOCKS = [
    (0x0020, 0x007E), (0x00A0, 0x00FF), (0x0100, 0x024F), (0x0250, 0x02AF), (0x0300, 0x036F), (0x0370, 0x03FF),
    (0x0400, 0x04FF), (0x0530, 0x058F), (0x0590, 0x05FF), (0x0600, 0x06FF), (0x0900, 0x097F), (0x0980, 0x09FF),
    (0x0B80, 0x0BFF), (0x0E00, 0x0E7F), (0x0F00, 0x0FFF), (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1200, 0x137F),
    (0x1780, 0x17FF), (0x1800, 0x18AF), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2190, 0x21FF), (0x2200, 0x22FF),
    (0x2500, 0x257F), (0x2600, 0x26FF), (0x3000, 0x303F), (0x3040, 0x309F), (0x30A0, 0x30FF), (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3), (0xE000, 0xF8FF), (0xFB00, 0xFB4F), (0xFE00, 0xFE0F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF),
    (0x10000, 0x1007F), (0x10330, 0x1034F), (0x1D400, 0x1D7FF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F),
    (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF), (0x20000, 0x2A6DF), (0x2F800, 0x2FA1F), (0xE0000, 0xE007F),
    (0xF0000, 0xF00FF), (0x10FF00, 0x10FFFF), (0x0000, 0x001F), (0x007F, 0x009F),
]


def rand_unicode(r, n):
    out = []
    for _ in range(n):
        lo, hi = r.choice(UNICODE_BLOCKS)
        out.append(chr(r.randint(lo, hi)))
        if r.random() < 0.15:
            out.append(" ")
    return "".join(out)


def sentence(r, n=None):
    n = n or r.randint(3, 18)
    ws = [r.choice(WORDS) for _ in range(n)]
    if r.random() < 0.5:
        ws[0] = ws[0].capitalize()
    for i in range(len(ws)):
        x = r.random()
        if x < 0.05:
            ws[i] = str(r.randint(0, 10 ** r.randint(1, 9)))
        elif x < 0.08:
            ws[i] = ws[i].upper()
        elif x < 0.12:
            ws[i] += r.choice([",", ";", ":", "'s", "n't", "-based", "!"])
    return " ".join(ws) + r.choice([".", "!", "?", "...", "", ":", " —", "\n"])


def ident(r):
    return r.choice(WORDS) + r.choice(["", "_" + r.choice(WORDS), str(r.randint(0, 99)), r.choice(WORDS).capitalize()])


def code(r):
    kind = r.randrange(6)
    a, b, c = ident(r), ident(r), ident(r)
    if kind == 0:
        return (f"def {a}({b}, {c}=None):\n    \"\"\"{sentence(r)}\"\"\"\n    if {c} is None:\n        {c} = []\n"
                f"    for i in range({b}):\n        {c}.append(i ** 2)  # {sentence(r, 4)}\n    return {c}\n")
    if kind == 1:
        return (f"#include <vector>\n\nint {a}(const std::vector<int>& {b}) {{\n\tint s = 0;\n"
                f"\tfor (size_t i = 0; i < {b}.size(); ++i) s += {b}[i] * {r.randint(1, 9)};\n\treturn s;\n}}\n")
    if kind == 2:
        return (f"const {a} = async ({b}) => {{\n  const res = await fetch(`/api/{c}?q=${{{b}}}`);\n"
                f"  if (!res.ok) throw new Error('{sentence(r, 3)}');\n  return res.json();\n}};\n")
    if kind == 3:
        return (f"SELECT {a}, COUNT(*) AS n FROM {b} WHERE {c} >= {r.randint(0, 999)} GROUP BY {a} "
                f"ORDER BY n DESC LIMIT {r.randint(1, 50)};")
    if kind == 4:
        return f"#!/bin/sh\nset -eu\nfor f in ./{a}/*.txt; do\n  grep -c '{b}' \"$f\" || true\ndone | sort -n | tail -3\n"
    return f"| {a} | {b} |\n|---|---|\n| `{c}` | {r.random():.4f} |\n\n```python\nprint({a!r})\n```\n"


def rand_json(r, depth=0):
    x = r.random()
    if depth > 3 or x < 0.3:
        return r.choice([r.randint(-10 ** 6, 10 ** 6), round(r.uniform(-1e3, 1e3), r.randint(0, 6)), True, False, None,
                         sentence(r, r.randint(1, 5)).strip(), r.choice(PHRASES), r.choice(EMOJI), ""])
    if x < 0.65:
        return {ident(r): rand_json(r, depth + 1) for _ in range(r.randint(0, 5))}
    return [rand_json(r, depth + 1) for _ in range(r.randint(0, 5))]


def json_text(r):
    v = {"name": ident(r), "arguments": rand_json(r)} if r.random() < 0.5 else rand_json(r)
    return json.dumps(v, ensure_ascii=r.random() < 0.3, indent=r.choice([None, 2, 4, "\t"]))


def misc(r):
    k = r.randrange(8)
    if k == 0:
        return f"https://example.com/{ident(r)}/{r.randint(1, 10 ** 6)}?q={ident(r)}&lang=en#sec-{r.randint(1, 9)}"
    if k == 1:
        return f"{ident(r)}.{ident(r)}@{ident(r)}.org"
    if k == 2:
        return f"{r.randint(1900, 2100)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:00:00Z"
    if k == 3:
        return "".join(r.choice("0123456789abcdef") for _ in range(r.randint(8, 64)))
    if k == 4:
        return "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(80)) + "=="
    if k == 5:
        return f"{r.uniform(-1e9, 1e9):.{r.randint(0, 12)}f} {r.randint(-10 ** 12, 10 ** 12):,} {r.random():e}"
    if k == 6:
        return f"$ {ident(r)} --{ident(r)}={r.randint(0, 99)} -v | tee /tmp/{ident(r)}.log"
    return "".join(r.choice("!@#$%^&*()_+-=[]{}|;':\",./<>?`~\\") for _ in range(r.randint(1, 30)))


def chat(r):
    parts = ["<bos>"]
    for _ in range(r.randint(1, 3)):
        parts.append(f"<start_of_turn>user\n{sentence(r)}<end_of_turn>\n")
        parts.append(f"<start_of_turn>model\n{sentence(r)} {json_text(r)}<end_of_turn>\n")
    return "".join(parts)


def mixed(r):
    gens = [lambda: sentence(r), lambda: r.choice(PHRASES), lambda: r.choice(EMOJI), lambda: code(r),
            lambda: json_text(r), lambda: misc(r), lambda: r.choice(SPECIAL_LOOKING), lambda: r.choice(WHITESPACE),
            lambda: rand_unicode(r, r.randint(1, 12))]
    return r.choice(["", " ", "\n", "\t", "  "]).join(r.choice(gens)() for _ in range(r.randint(2, 6)))


def long_text(r, kind, target):
    chunks, n = [], 0
    while n < target:
        if kind == "prose":
            s = sentence(r) + (" " if r.random() < 0.8 else "\n\n")
        elif kind == "code":
            s = code(r) + "\n"
        elif kind == "cjk":
            s = r.choice(["我爱自然语言处理。", "東京都は日本の首都です。", "한국어 형태소 분석", "今日は良い天気ですね。"]) + \
                "".join(chr(r.randint(0x4E00, 0x9FFF)) for _ in range(r.randint(5, 40)))
        elif kind == "json":
            s = json_text(r) + "\n"
        elif kind == "unicode":
            s = rand_unicode(r, 30)
        elif kind == "spaces":
            s = r.choice(["a", "bc", "def", "\n", "\t"]) + " " * r.randint(0, 40)
        else:
            s = mixed(r)
        chunks.append(s)
        n += len(s)
    return "".join(chunks)[:target]


def make_strings():
    r = random.Random(SEED)
    out = []
    out += WHITESPACE + PHRASES + EMOJI + SPECIAL_LOOKING
    out += [p + " " + e for p, e in zip(PHRASES, EMOJI * 3)]
    out += [sentence(r) for _ in range(60)]
    out += [code(r) for _ in range(40)]
    out += [json_text(r) for _ in range(40)]
    out += [misc(r) for _ in range(40)]
    out += [chat(r) for _ in range(15)]
    out += [rand_unicode(r, r.randint(1, 40)) for _ in range(60)]
    out += [mixed(r) for _ in range(110)]
    out += ["a" * 5000, "ab" * 3000, " " * 3000 + "x"]
    for kind, n in [("prose", 9000), ("code", 8000), ("cjk", 6000), ("json", 7000), ("unicode", 5000),
                    ("spaces", 6000), ("mixed", 10000)]:
        out.append(long_text(r, kind, n))
    seen, uniq = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


def random_id_lists(r, vocab_size):
    lists = []
    for _ in range(80):
        ids = []
        for _ in range(r.randint(1, 30)):
            k = r.random()
            if k < 0.35:
                ids.append(r.randint(238, 493))  # byte tokens, valid and invalid UTF-8 runs
            elif k < 0.45:
                ids.append(r.choice([0, 1, 2, 3, 4, 5, 105, 106, 107, 108, 168, 255999, 256000, 262144]))
            else:
                ids.append(r.randrange(vocab_size))
        lists.append(ids)
    # Whole UTF-8 characters spelled in bytes, and truncated ones.
    # (Byte b is id 238 + b: "é" is C3 A9, "😀" is F0 9F 98 80.)
    lists += [[433, 407], [478, 397, 390, 366], [478, 397, 390], [433, 2, 407], [433, 407, 301, 478, 397, 390, 366, 433]]
    return lists


def gemma4_tokenizer(path):
    d = json.load(open(path, encoding="utf-8"))
    vocab = d["model"]["vocab"]
    for i, new, old in GEMMA4_RENAMES:
        assert vocab.pop(old) == i
        vocab[new] = i
        for a in d["added_tokens"]:
            if a["id"] == i:
                assert a["content"] == old
                a["content"], a["special"] = new, True
    return Tokenizer.from_str(json.dumps(d))


GEMMA4_STRINGS = [
    "<|turn>user\nHello<turn|>\n<|turn>model\n", "<|turn>system\n<|think|>You are helpful.<turn|>\n",
    "<|channel>thought\nLet me think.<channel|>The answer is 4.",
    '<|tool>declaration:get_weather{description:<|"|>Weather<|"|>,parameters:{city:{type:<|"|>STRING<|"|>}}}<tool|>',
    '<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>', "<|tool_response>response:get_weather{t:21}<tool_response|>",
    "<|image><|image|><|image|><image|>", "<|audio><|audio|><audio|>", "<|video|>", "<start_of_turn>user\nhi<end_of_turn>",
    "<unused40><unused2978>", "<|turn", "turn|>", "<|turn|>", "<|tool_call|>", "<bos><|turn>user\nx<turn|>\n",
    "<|channel>", "<channel|>", "<|think|>\n", "a<|\"|>b", "<|\"|", "|\"|>",
]


def encode_case(tok, s, bos_prefix):
    ids = tok.encode(s, add_special_tokens=False).ids
    case = {"text": s, "ids": ids}
    ids_bos = tok.encode(s, add_special_tokens=True).ids
    if ids_bos != bos_prefix + ids:
        case["ids_bos"] = ids_bos
    tok.encode_special_tokens = True
    try:
        plain = tok.encode(s, add_special_tokens=False).ids
    finally:
        tok.encode_special_tokens = False
    if plain != ids:
        case["ids_plain"] = plain
    dec = tok.decode(ids, skip_special_tokens=False)
    if dec != s:
        case["decoded"] = dec
    dec_skip = tok.decode(ids, skip_special_tokens=True)
    if dec_skip != dec:
        case["decoded_skip"] = dec_skip
    return case


def write_fixture(path, doc, lists):
    # One case per line keeps diffs of the fixture readable.
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        for k, v in doc.items():
            f.write(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n")
        for i, (k, items) in enumerate(lists.items()):
            f.write(f"{json.dumps(k)}: [\n")
            f.write(",\n".join(json.dumps(x, ensure_ascii=False) for x in items))
            f.write("\n]" + (",\n" if i + 1 < len(lists) else "\n"))
        f.write("}\n")


def bench(tok_path, strings, corpus_path):
    docs = list(strings)
    stdlib = sysconfig.get_paths()["stdlib"]
    budget = 8 << 20
    for root, dirs, files in sorted(os.walk(stdlib)):
        dirs.sort()
        if "site-packages" in root or "test" in root.split(os.sep):
            continue
        for name in sorted(files):
            if not name.endswith(".py") or budget <= 0:
                continue
            try:
                text = open(os.path.join(root, name), encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            docs.append(text)
            budget -= len(text.encode())
    with open(corpus_path, "w", encoding="utf-8") as f:
        json.dump(docs, f, ensure_ascii=False)
    nbytes = sum(len(d.encode()) for d in docs)
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        tok = Tokenizer.from_file(tok_path)
        loads.append(time.perf_counter() - t)
    times, ntok = [], 0
    for _ in range(3):
        t = time.perf_counter()
        ntok = sum(len(tok.encode(d, add_special_tokens=False).ids) for d in docs)
        times.append(time.perf_counter() - t)
    best = min(times)
    print(f"hf-tokenizers {tokenizers.__version__}: load {min(loads) * 1e3:.0f} ms (best of 3); encode {len(docs)} docs, "
          f"{nbytes / 1e6:.2f} MB, {ntok} tokens: {nbytes / 1e6 / best:.2f} MB/s single-threaded (best of 3: "
          + ", ".join(f"{t:.3f}" for t in times) + " s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("out")
    ap.add_argument("--corpus", help="also write a benchmark corpus here and time tokenizers on it")
    args = ap.parse_args()

    sha = hashlib.sha256(open(args.tokenizer, "rb").read()).hexdigest()
    tok = Tokenizer.from_file(args.tokenizer)
    bos_prefix = tok.encode("", add_special_tokens=True).ids
    strings = make_strings()
    cases = [encode_case(tok, s, bos_prefix) for s in strings]
    r = random.Random(SEED + 1)
    decodes = [{"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip": tok.decode(ids, skip_special_tokens=True)}
               for ids in random_id_lists(r, tok.get_vocab_size(with_added_tokens=True))]
    g4 = gemma4_tokenizer(args.tokenizer)
    gemma4 = [encode_case(g4, s, bos_prefix) for s in GEMMA4_STRINGS]
    doc = {"generator": "tests/golden/make_tokenizer_fixtures.py", "tokenizers_version": tokenizers.__version__,
           "tokenizer_sha256": sha, "bos_prefix": bos_prefix}
    write_fixture(args.out, doc, {"cases": cases, "decodes": decodes, "gemma4": gemma4})
    n_ids = sum(len(c["ids"]) for c in cases)
    print(f"{len(cases)} strings ({n_ids} ids), {len(decodes)} id lists, {len(gemma4)} Gemma 4 strings -> {args.out} "
          f"({os.path.getsize(args.out) / 1e6:.2f} MB)")
    if args.corpus:
        bench(args.tokenizer, strings, args.corpus)


if __name__ == "__main__":
    sys.exit(main())
