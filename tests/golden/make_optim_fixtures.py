#!/usr/bin/env python3
"""Reference trajectories for optim/ from transformers' Adafactor and torch.optim.AdamW (run on the GPU machine).

Every case starts from the same parameters and sees the same gradients, so both live once at the top of the file.
Gradients are multiples of 1/64 (exact in float32 and short in JSON); parameters, step sizes and final states are
float32 values written with float.hex (trailing zeros of the mantissa stripped), which round-trips exactly through
strtod. Everything runs on the CPU in float32 with foreach off, so the result does not depend on the GPU.

Usage (torch + transformers, i.e. on the GPU machine): python3 make_optim_fixtures.py --out DIR, then copy
DIR/adafactor.json and DIR/adamw.json to tests/fixtures/optim/.
"""
import argparse
import json
import os
import re
import sys
import traceback

import torch
import transformers
from transformers.optimization import Adafactor

STEPS = 5
# Gradient scale per step: the jumps make the second-moment estimates lag, so the clip engages on its own too.
GRAD_SCALE = [1.0, 4.0, 0.25, 16.0, 1.0]
SHAPES = {"matrix": [6, 5], "cube": [2, 3, 4], "vector": [7], "table": [8, 3]}
# The table's gradient touches only these rows per step (an embedding lookup's pattern); the C++ tests replay it
# as a row-sparse gradient.
TABLE_ROWS = [[1, 4, 6], [4], [0, 1, 2, 3, 4, 5, 6, 7], [2, 6], [1, 4, 6]]


def hexf(x):
    s = float(x).hex()
    return re.sub(r"\.?0+p", "p", s)


def hexlist(t):
    return [hexf(v) for v in t.detach().reshape(-1).tolist()]


def make_inputs():
    g = torch.Generator().manual_seed(20261122)
    init = {n: torch.randn(s, generator=g, dtype=torch.float32) for n, s in SHAPES.items()}
    grads = []
    for step in range(STEPS):
        gs = {}
        for n, s in SHAPES.items():
            k = torch.randint(-128, 129, s, generator=g).to(torch.float32) / 64.0
            k = k * GRAD_SCALE[step]
            if n == "matrix" and step % 2 == 1:
                k[1] = 0.0  # a row with no gradient: Q = eps1 there
            if n == "table":
                mask = torch.zeros(s[0], dtype=torch.bool)
                mask[TABLE_ROWS[step]] = True
                k[~mask] = 0.0
            gs[n] = k
        grads.append(gs)
    return init, grads


def run_case(make_opt, init, grads, lr_of=None):
    params = {n: torch.nn.Parameter(t.clone()) for n, t in init.items()}
    opt = make_opt(list(params.values()))
    traj = []
    for step in range(STEPS):
        for n, p in params.items():
            p.grad = grads[step][n].clone()
        opt.step()
        rec = {"params": {n: hexlist(p) for n, p in params.items()}}
        if lr_of is not None:
            rec["lr"] = {n: hexf(lr_of(opt, p)) for n, p in params.items()}
        traj.append(rec)
    final_state = {}
    for n, p in params.items():
        st = opt.state[p]
        final_state[n] = {k: {"shape": list(v.shape), "values": hexlist(v)}
                          for k, v in st.items() if torch.is_tensor(v) and v.dim() > 0}
    return traj, final_state


def adafactor_lr(opt, p):
    # The step size of the step just taken: transformers' own helper, from the step count and RMS it stored.
    v = Adafactor._get_lr(opt.param_groups[0], opt.state[p])
    return float(v)


ADAFACTOR_CASES = [
    ("a_ours_lr1e-2", dict(lr=1e-2, scale_parameter=False, relative_step=False, warmup_init=False)),
    ("b_transformers_defaults", dict(lr=None, scale_parameter=True, relative_step=True, warmup_init=False)),
    ("c_relative_warmup_scale", dict(lr=None, scale_parameter=True, relative_step=True, warmup_init=True)),
    ("d_beta1_wd_clip_decay", dict(lr=1e-2, beta1=0.9, weight_decay=0.1, clip_threshold=0.5, decay_rate=-0.5,
                                   scale_parameter=True, relative_step=False, warmup_init=False)),
    ("e_clip_active", dict(lr=1e-2, clip_threshold=0.05, eps=(1e-20, 1e-2), scale_parameter=False,
                           relative_step=False, warmup_init=False)),
]

ADAMW_CASES = [
    ("f_adamw_default_wd", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False)),
    ("g_adamw_amsgrad_betas", dict(lr=5e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True)),
]


def option_json(opts):
    out = {}
    for k, v in opts.items():
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    init, grads = make_inputs()
    header = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "steps": STEPS,
        "shapes": SHAPES,
        "table_rows": TABLE_ROWS,
        "init": {n: hexlist(t) for n, t in init.items()},
        "grads": [{n: [float(x) for x in g[n].reshape(-1).tolist()] for n in SHAPES} for g in grads],
    }
    failed = 0
    for fname, cases, build, lr_of in [
        ("adafactor.json", ADAFACTOR_CASES, lambda o: (lambda ps: Adafactor(ps, **o)), adafactor_lr),
        ("adamw.json", ADAMW_CASES, lambda o: (lambda ps: torch.optim.AdamW(ps, foreach=False, **o)), None),
    ]:
        doc = dict(header)
        doc["cases"] = []
        for name, opts in cases:
            try:
                traj, final_state = run_case(build(opts), init, grads, lr_of)
                doc["cases"].append({"name": name, "options": option_json(opts), "trajectory": traj,
                                     "final_state": final_state})
                print(f"{fname}: {name} ok", flush=True)
            except Exception:
                failed += 1
                print(f"{fname}: {name} FAILED", flush=True)
                traceback.print_exc()
        with open(os.path.join(args.out, fname), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        print(f"wrote {fname}: {os.path.getsize(os.path.join(args.out, fname))} bytes", flush=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
