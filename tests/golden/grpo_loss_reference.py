# Reference values for tests/rl/test_grpo_loss.cpp: run with python3 (no packages needed) and paste its output.
# The GRPO loss with TRL's semantics (GRPOTrainer._compute_loss: padded [completions, tokens] rows, loss batches of
# per_device completions, gradient accumulation over them, num_items_in_batch counted before truncation masking) on a
# tiny fixed batch, evaluated in double from float32 inputs; the gradients by central differences (h = 1e-6, error
# about 1e-10). Clipping is active on both sides and the k3 KL term is on. level "sequence" is TRL's
# importance_sampling_level="sequence" (GSPO): one ratio per completion, exp of its masked mean log-ratio.
import math
import struct

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]

logp = [[-1.0, -0.5, -2.0], [-0.7, -1.1], [-0.2, -3.0], [-1.5]]
old  = [[-1.3, -0.45, -1.6], [-0.3, -1.4], [-0.25, -3.5], [-1.45]]
ref  = [[-1.1, -0.4, -1.8], [-0.9, -1.0], [-0.3, -2.7], [-1.2]]
logp = [[f32(v) for v in r] for r in logp]
old = [[f32(v) for v in r] for r in old]
ref = [[f32(v) for v in r] for r in ref]
rewards = [0.9, 0.3, 0.5, 0.1]
G = 2; beta = 0.04; eps_lo = 0.2; eps_hi = 0.2; max_len = 4; per_device = 2

def std(x):
    m = sum(x) / len(x)
    return math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))

def advantages(r):
    out = []
    for g in range(0, len(r), G):
        grp = r[g:g + G]
        m = sum(grp) / G
        s = std(grp)
        out += [(v - m) / (s + 1e-4) for v in grp]
    return out

def loss(lp, loss_type, masked=(), level="token"):
    A = advantages(rewards)
    lengths = [len(x) for x in lp]
    num_items = sum(lengths)  # before masking, as TRL
    mask = [[0 if i in masked else 1] * len(x) for i, x in enumerate(lp)]
    ptl = []
    for i, row in enumerate(lp):
        r = []
        seq = math.exp(sum((x - old[i][t]) * mask[i][t] for t, x in enumerate(row)) / max(1, sum(mask[i])))
        for t, x in enumerate(row):
            c1 = math.exp(x - old[i][t]) if level == "token" else seq
            c2 = min(max(c1, 1 - eps_lo), 1 + eps_hi)
            l = -min(c1 * A[i], c2 * A[i])
            d = ref[i][t] - x
            l += beta * (math.exp(d) - d - 1)
            r.append(l)
        ptl.append(r)
    GA = len(lp) // per_device
    total = 0.0
    for b in range(0, len(lp), per_device):
        rows = range(b, b + per_device)
        if loss_type == "grpo":
            v = sum(sum(ptl[i][t] * mask[i][t] for t in range(len(ptl[i]))) / max(1, sum(mask[i])) for i in rows) / per_device
            total += v / GA
        elif loss_type == "bnpo":
            v = sum(ptl[i][t] * mask[i][t] for i in rows for t in range(len(ptl[i]))) / max(1, sum(sum(mask[i]) for i in rows))
            total += v / GA
        elif loss_type == "dr_grpo":
            v = sum(ptl[i][t] * mask[i][t] for i in rows for t in range(len(ptl[i]))) / (per_device * max_len)
            total += v / GA
        elif loss_type == "dapo":
            total += sum(ptl[i][t] * mask[i][t] for i in rows for t in range(len(ptl[i]))) / num_items
    return total

cases = [(m, lt, "token") for m in [(), (3,)] for lt in ["grpo", "bnpo", "dr_grpo", "dapo"]]
cases += [(m, lt, "sequence") for m in [(), (3,)] for lt in ["grpo", "dapo"]]
for masked, lt, level in cases:
        L = loss(logp, lt, masked, level)
        grads = []
        h = 1e-6
        for i in range(len(logp)):
            for t in range(len(logp[i])):
                up = [r[:] for r in logp]; dn = [r[:] for r in logp]
                up[i][t] += h; dn[i][t] -= h
                grads.append((loss(up, lt, masked, level) - loss(dn, lt, masked, level)) / (2 * h))
        print(masked, lt, level, "%.17g" % L, ", ".join("%.10g" % g for g in grads))
print("A", ["%.17g" % a for a in advantages(rewards)])
