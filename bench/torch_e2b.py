#!/usr/bin/env python3
"""PyTorch + transformers at the real E2B shape, measured as bench/bench_cuda.cpp measures gemma-tune (GPU machine).

Random bf16 weights (Gemma4ForCausalLM built from the E2B text config), sdpa attention, batch 1:
* SFT step: forward with labels (loss over every position), backward, transformers' Adafactor at lr 2e-5 as the
  Trainer's optim="adafactor" builds it (scale_parameter=False, relative_step=False), zero_grad; the device is
  synchronised between phases. 2 warm-up steps, then the mean of 5.
* Decode: greedy HF generate after a 512-token prompt; tokens/s of the 32 new tokens after the first (the prefill
  and first token are timed separately and subtracted), batch 1 and 4.
MFU uses the same model-FLOP count as bench_cuda.cpp over 989 TFLOP/s. Prints one JSON object.
Usage: python3 bench/torch_e2b.py [--steps 5] [--out FILE]
"""
import argparse
import json
import re
import time

import torch
import transformers
from transformers import Gemma4ForCausalLM, Gemma4TextConfig
from transformers.optimization import Adafactor

PEAK = 989e12
# The E2B numbers that step_flops needs (e2b_config below builds the same; transformers refuses to read per-layer
# fields such as head_dim off the top-level config).
LAYER_TYPES = ["full_attention" if i % 5 == 4 else "sliding_attention" for i in range(35)]
HEAD_DIM = {"sliding_attention": 256, "full_attention": 512}
VOCAB, HIDDEN, HEADS, WINDOW, FIRST_SHARED = 262144, 1536, 8, 512, 15


def e2b_config():
    types = LAYER_TYPES
    return Gemma4TextConfig(
        vocab_size=262144, hidden_size=1536, intermediate_size=6144, num_hidden_layers=35, num_attention_heads=8,
        num_key_value_heads=1, head_dim=256, global_head_dim=512, layer_types=types, sliding_window=512,
        hidden_size_per_layer_input=256, vocab_size_per_layer_input=262144, num_kv_shared_layers=20,
        use_double_wide_mlp=True, final_logit_softcapping=30.0, max_position_embeddings=131072, rms_norm_eps=1e-6,
        pad_token_id=0, bos_token_id=2, eos_token_id=1, tie_word_embeddings=True,
        rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                         "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25,
                                            "rope_theta": 1000000.0}},
        attn_implementation="sdpa")


def step_flops(model, T):
    matmul = 0
    for name, p in model.named_parameters():
        shared_kv = re.search(r"layers\.(\d+)\.self_attn\.[kv]_proj", name)
        if shared_kv and int(shared_kv.group(1)) >= FIRST_SHARED:
            continue  # present in the module, never used: KV-shared layers read their source's keys and values
        if p.dim() == 2 and "embed_tokens" not in name:
            matmul += p.numel()
    matmul += VOCAB * HIDDEN  # the tied head
    attn = 0.0
    for t in LAYER_TYPES:
        keys = sum(min(p + 1, WINDOW) if t == "sliding_attention" else p + 1 for p in range(T))
        attn += 4.0 * HEADS * HEAD_DIM[t] * keys
    return 6.0 * matmul * T + 3.0 * attn


def sft(model, T, steps):
    opt = Adafactor(model.parameters(), lr=2e-5, scale_parameter=False, relative_step=False, warmup_init=False)
    ids = torch.tensor([[2] + [(t * 7919 + 3) % 262144 for t in range(1, T)]], device="cuda")
    model.train()
    times = []
    torch.cuda.reset_peak_memory_stats()
    for i in range(steps + 2):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        loss.backward()
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        t3 = time.perf_counter()
        if i >= 2:
            times.append((t1 - t0, t2 - t1, t3 - t2))
    f, b, u = (sum(x[k] for x in times) / len(times) for k in range(3))
    total = f + b + u
    del opt
    return {"step_ms": 1e3 * total, "forward_ms": 1e3 * f, "backward_ms": 1e3 * b, "optimizer_ms": 1e3 * u,
            "tokens_per_s": T / total, "mfu": step_flops(model, T) / total / PEAK,
            "peak_gb": torch.cuda.max_memory_allocated() / 1e9, "loss": float(loss)}


@torch.no_grad()
def decode(model, batch, new=32):
    model.eval()
    prompt = torch.tensor([[3 + (i * 37) % 100000 for i in range(512)]] * batch, device="cuda")

    def run(n):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False)
        torch.cuda.synchronize()
        return time.perf_counter() - t0

    run(2)  # warm-up
    first = min(run(1) for _ in range(2))
    full = min(run(new + 1) for _ in range(2))
    return {"tokens_per_s": batch * new / (full - first), "ms_per_step": 1e3 * (full - first) / new,
            "generate_tokens_per_s": batch * (new + 1) / full}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args()
    cfg = e2b_config()
    torch.manual_seed(0)
    t0 = time.time()
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = Gemma4ForCausalLM(cfg)
    torch.set_default_dtype(torch.float32)
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "transformers": transformers.__version__,
           "parameters": sum(p.numel() for p in model.parameters()), "build_s": time.time() - t0}
    for T in (512, 1024):
        res[f"sft_{T}"] = sft(model, T, a.steps)
        print(json.dumps({f"sft_{T}": res[f"sft_{T}"]}), flush=True)
        torch.cuda.empty_cache()
    for B in (1, 4):
        res[f"decode_b{B}"] = decode(model, B)
        print(json.dumps({f"decode_b{B}": res[f"decode_b{B}"]}), flush=True)
    print(json.dumps(res, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
