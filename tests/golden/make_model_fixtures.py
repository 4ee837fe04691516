#!/usr/bin/env python3
"""Golden fixtures for model/ (the Gemma 4 text graph) from transformers, run on the GPU machine's CPU.

Three tiny configs that together cover every feature of the E2B text decoder:

  a_causal_ple   Gemma4ForCausalLM, config.json as transformers writes it (per_layer_config), float32 on disk.
                 PLE; GQA (4 query heads, 2 KV heads); KV sharing of a sliding AND a full layer; double-wide MLP
                 on the shared layers; global head size 16 != sliding 8; sliding window 4 < 11 tokens; softcap.
  b_cond_mqa     Gemma4ForConditionalGeneration (prefix model.language_model., text fields under text_config, tiny
                 vision and audio towers to be skipped), config.json rewritten to spell `global_head_dim`, bfloat16
                 on disk. MQA; KV sharing of both types; double-wide MLP; hidden 48 (sqrt(48) is not exact).
  c_causal_plain Gemma4ForCausalLM without PLE, without softcap and without KV sharing, float16 on disk;
                 per_layer_config; partial rotary factor 0.5.

Weights are random (norm weights around 1 and layer_scalar in [0.3, 1.2], so neither is the default 1) and
rounded to the on-disk dtype first, so the float32 reference run and the checkpoint hold the same values. For each
config the script writes DIR/<name>/: config.json + model.safetensors (save_pretrained), golden.safetensors
(input_ids [1, T] i64, logits [T, V] f32, loss [1] f32, grad.<name> f32 for every trainable parameter, names
without the model prefix) and resolved.json (per-layer shapes transformers built, for the loader's derivations).
Everything runs in float32 on the CPU with eager attention. probes.json records how transformers reads the
config fields that decide head sizes and KV heads.

Usage (on the GPU machine): python3 make_model_fixtures.py --out DIR, then copy DIR/* to tests/fixtures/model/.
"""
import argparse
import copy
import json
import os
import sys
import traceback

import torch
import transformers
from safetensors.torch import save_file
from transformers import (Gemma4Config, Gemma4ForCausalLM, Gemma4ForConditionalGeneration, Gemma4TextConfig)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def text_kwargs(c):
    return dict(
        vocab_size=c["vocab"], vocab_size_per_layer_input=c["vocab"], hidden_size=c["hidden"],
        intermediate_size=c["inter"], num_hidden_layers=len(c["types"]), num_attention_heads=c["heads"],
        num_key_value_heads=c["kv_heads"], head_dim=c["head_dim"], global_head_dim=c["global_head_dim"],
        layer_types=c["types"], sliding_window=c["window"], final_logit_softcapping=c["softcap"],
        hidden_size_per_layer_input=c["ple"], num_kv_shared_layers=c["shared"],
        use_double_wide_mlp=c["double_wide"], rope_parameters=c["rope"], max_position_embeddings=256,
        rms_norm_eps=1e-6, pad_token_id=0, bos_token_id=2, eos_token_id=1, tie_word_embeddings=True)


def rope(full_partial):
    return {"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
            "full_attention": {"rope_type": "proportional", "partial_rotary_factor": full_partial,
                               "rope_theta": 1000000.0}}


S, F = "sliding_attention", "full_attention"
CASES = [
    dict(name="a_causal_ple", form="causal", dtype="float32", vocab=256, hidden=32, inter=32, heads=4, kv_heads=2,
         head_dim=8, global_head_dim=16, types=[S, S, F, S, F], window=4, softcap=30.0, ple=8, shared=2,
         double_wide=True, rope=rope(0.25), tokens=11, seed=1),
    dict(name="b_cond_mqa", form="conditional", dtype="bfloat16", vocab=320, hidden=48, inter=48, heads=2,
         kv_heads=1, head_dim=24, global_head_dim=48, types=[S, F, S, F], window=5, softcap=30.0, ple=8, shared=2,
         double_wide=True, rope=rope(0.25), tokens=13, seed=2, spell_global_head_dim=True),
    dict(name="c_causal_plain", form="causal", dtype="float16", vocab=288, hidden=64, inter=64, heads=4, kv_heads=2,
         head_dim=16, global_head_dim=32, types=[S, S, F], window=3, softcap=None, ple=0, shared=0,
         double_wide=True, rope=rope(0.5), tokens=9, seed=3),
]


def set_eager(model):
    try:
        model.set_attn_implementation("eager")
    except Exception:
        model.config._attn_implementation = "eager"
        if hasattr(model.config, "text_config"):
            model.config.text_config._attn_implementation = "eager"


def build(c):
    tk = text_kwargs(c)
    if c["form"] == "causal":
        cfg = Gemma4TextConfig(**tk)
        cfg._attn_implementation = "eager"
        model = Gemma4ForCausalLM(cfg)
    else:
        vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=2, head_dim=8, position_embedding_size=64, patch_size=4,
                      pooling_kernel_size=2)
        audio = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, subsampling_conv_channels=[4, 4],
                     output_proj_dims=16)
        try:
            cfg = Gemma4Config(text_config=tk, vision_config=vision, audio_config=audio)
            model = Gemma4ForConditionalGeneration(cfg)
        except Exception:
            traceback.print_exc()
            print("audio tower failed to build; using the vision tower alone", flush=True)
            cfg = Gemma4Config(text_config=tk, vision_config=vision)
            model = Gemma4ForConditionalGeneration(cfg)
    set_eager(model)
    return model


def text_prefix(form):
    return "model." if form == "causal" else "model.language_model."


def randomize(model, c):
    g = torch.Generator().manual_seed(c["seed"])
    disk = DTYPES[c["dtype"]]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                v = 1.0 + 0.3 * torch.randn(p.shape, generator=g)
            else:
                v = 0.15 * torch.randn(p.shape, generator=g)
            p.copy_(v.to(disk).to(torch.float32))
        for name, b in model.named_buffers():
            if name.endswith("layer_scalar"):
                v = 0.3 + 0.9 * torch.rand(b.shape, generator=g)
                b.copy_(v.to(disk).to(torch.float32))


def make_ids(c):
    g = torch.Generator().manual_seed(100 + c["seed"])
    ids = torch.randint(1, c["vocab"], (1, c["tokens"]), generator=g)
    ids[0, 3] = 0  # the pad id: its embedding rows get no gradient from the lookups (padding_idx)
    ids[0, 7] = ids[0, 1]  # a repeated token: its rows accumulate two lookups
    return ids


def resolved(model, c):
    text = model.model if c["form"] == "causal" else model.model.language_model
    layers = []
    for i, layer in enumerate(text.layers):
        a = layer.self_attn
        layers.append({
            "q_proj": list(a.q_proj.weight.shape),
            "k_proj": list(a.k_proj.weight.shape) if getattr(a, "k_proj", None) is not None else None,
            "gate_proj": list(layer.mlp.gate_proj.weight.shape),
            "head_dim": a.head_dim, "is_kv_shared_layer": bool(getattr(a, "is_kv_shared_layer", False)),
            "store_full_length_kv": bool(getattr(a, "store_full_length_kv", False)),
        })
    return {"layers": layers, "embed_scale": float(text.embed_tokens.embed_scale),
            "transformers": transformers.__version__, "torch": torch.__version__}


def run_case(c, out):
    d = os.path.join(out, c["name"])
    os.makedirs(d, exist_ok=True)
    model = build(c).float()
    randomize(model, c)
    model.eval()
    ids = make_ids(c)
    prefix = text_prefix(c["form"])

    res = model(input_ids=ids, labels=ids, use_cache=False)
    res.loss.backward()
    with torch.no_grad():
        cached = model(input_ids=ids, use_cache=True).logits
    cache_diff = float((cached - res.logits).abs().max())
    print(f"{c['name']}: loss {res.loss.item():.6f}, |logits(cache) - logits(no cache)| = {cache_diff:.3g}", flush=True)

    golden = {"input_ids": ids.to(torch.int64).contiguous(),
              "logits": res.logits[0].detach().float().contiguous(),
              "loss": res.loss.detach().float().reshape(1).contiguous()}
    ngrad = 0
    for name, p in model.named_parameters():
        if not name.startswith(prefix):
            continue
        assert p.grad is not None, f"no gradient for {name}"
        golden["grad." + name[len(prefix):]] = p.grad.detach().float().contiguous()
        ngrad += 1
    save_file(golden, os.path.join(d, "golden.safetensors"))

    disk = copy.deepcopy(model).to(DTYPES[c["dtype"]])
    disk.save_pretrained(d, safe_serialization=True)
    cfg_path = os.path.join(d, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    if c.get("spell_global_head_dim"):
        # Google's released config.json spells the global head size this way; transformers 5.17 writes
        # per_layer_config instead. The reload below proves both spellings build the same model.
        tc = cfg["text_config"]
        tc.pop("per_layer_config", None)
        tc["global_head_dim"] = c["global_head_dim"]
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
    with open(os.path.join(d, "resolved.json"), "w") as f:
        json.dump(resolved(model, c), f, indent=1)

    cls = Gemma4ForCausalLM if c["form"] == "causal" else Gemma4ForConditionalGeneration
    again = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager")
    with torch.no_grad():
        reload_logits = again(input_ids=ids, use_cache=False).logits
    reload_diff = float((reload_logits - res.logits).abs().max())
    sizes = {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))}
    print(f"{c['name']}: {ngrad} gradients; reload |diff| = {reload_diff:.3g}; files {sizes}", flush=True)
    assert reload_diff == 0.0, "the saved checkpoint does not reproduce the reference logits"
    return {"cache_diff": cache_diff, "reload_diff": reload_diff, "sizes": sizes}


def probes():
    """How this transformers reads the fields that decide a full layer's head size and KV heads."""
    base = dict(vocab_size=64, vocab_size_per_layer_input=64, hidden_size=16, intermediate_size=16,
                num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=4,
                layer_types=[S, F], hidden_size_per_layer_input=0, max_position_embeddings=64)
    out = {}
    for label, extra in [
        ("global_head_dim=8", dict(global_head_dim=8)),
        ("global_head_dim=8,num_global_key_value_heads=1", dict(global_head_dim=8, num_global_key_value_heads=1)),
        ("per_layer_config head_dim 8 kv 1", dict(per_layer_config={"1": {"head_dim": 8, "num_key_value_heads": 1}})),
        ("per_layer_config int key", dict(per_layer_config={1: {"head_dim": 8}})),
    ]:
        try:
            cfg = Gemma4TextConfig(**base, **extra)
            m = Gemma4ForCausalLM(cfg)
            a = m.model.layers[1].self_attn
            out[label] = {"k_proj": list(a.k_proj.weight.shape), "q_proj": list(a.q_proj.weight.shape),
                          "saved_config_keys": sorted(k for k in cfg.to_dict() if "head" in k or "per_layer" in k),
                          "per_layer_config": str(cfg.to_dict().get("per_layer_config"))}
        except Exception as e:
            out[label] = {"error": repr(e)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}", flush=True)
    failed, summary = 0, {}
    for c in CASES:
        try:
            summary[c["name"]] = run_case(c, args.out)
        except Exception:
            failed += 1
            print(f"{c['name']} FAILED", flush=True)
            traceback.print_exc()
    try:
        summary["probes"] = probes()
    except Exception:
        traceback.print_exc()
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary.get("probes"), indent=1), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
