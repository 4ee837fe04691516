"""Greedy tokens from transformers for the tiny golden models (tests/fixtures/model/*), with and without the KV
cache, past the sliding window: the reference the C++ inference path is compared with.

Run on the GPU machine (transformers 5.17, torch CPU, float32, eager attention):
    python3 make_generate_fixtures.py FIXTURES_DIR OUT.json
Records, per model: the prompt, the greedy new tokens (HF generate, use_cache=True), whether use_cache=False gives
the same tokens, and the top-1 minus top-2 logit margin at each step (so a mismatch at a near tie can be told from
a real bug).
"""
import json
import os
import sys

import torch
import transformers

fixtures, out_path = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
result = {"transformers": transformers.__version__, "torch": torch.__version__, "models": {}}
for name in sorted(os.listdir(fixtures)):
    d = os.path.join(fixtures, name)
    if not os.path.isfile(os.path.join(d, "config.json")):
        continue
    cfg = json.load(open(os.path.join(d, "config.json")))
    cls = getattr(transformers, cfg["architectures"][0])
    model = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    text = cfg.get("text_config", cfg)
    window, vocab = text["sliding_window"], text["vocab_size"]
    # A prompt longer than the window, then enough new tokens to move well past it again.
    g = torch.Generator().manual_seed(1234)
    prompt = [2] + torch.randint(3, vocab, (window + 3,), generator=g).tolist()
    new = window + 25
    ids = torch.tensor([prompt])
    # No stop token: every model generates exactly `new` tokens (min_new_tokens would instead mask EOS, which
    # changes the argmax).
    model.generation_config.eos_token_id = None
    common = dict(max_new_tokens=new, do_sample=False, output_scores=True, return_dict_in_generate=True,
                  pad_token_id=0)
    with torch.no_grad():
        cached = model.generate(ids, use_cache=True, **common)
        uncached = model.generate(ids, use_cache=False, **common)
    tokens = cached.sequences[0, len(prompt):].tolist()
    margins = []
    for s in cached.scores:
        top = torch.topk(s[0].float(), 2).values
        margins.append(float(top[0] - top[1]))
    result["models"][name] = {
        "prompt": prompt,
        "tokens": tokens,
        "uncached_equal": tokens == uncached.sequences[0, len(prompt):].tolist(),
        "min_margin": min(margins),
        "margins": margins,
    }
    print(name, "tokens", len(tokens), "uncached_equal", result["models"][name]["uncached_equal"],
          "min margin", min(margins), flush=True)
json.dump(result, open(out_path, "w"), indent=1)
