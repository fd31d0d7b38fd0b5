"""PyTorch's side of the causal benchmark (bench_interp.c), with the same
model sizes (random weights): the patching sweep as hook-based tools do it,
full forwards of the corrupt context with one site patched, batched over
the positions of one (site, layer) and over the heads of one layer; and the
head detectors, a forward over N random tokens repeated twice and the three
scores from the attention probabilities.

    python3 torch_interp.py patch kjv|gpt2s CTX
    python3 torch_interp.py heads gpt2s N
"""
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import GPT2  # noqa: E402

REPS = 5
SIZES = {"kjv": dict(V=13484, C=128, L=4, NH=4, maxT=64),
         "gpt2s": dict(V=50257, C=768, L=12, NH=12, maxT=1024)}


def median(x):
    x = sorted(x)
    n = len(x)
    return x[n // 2] if n % 2 else 0.5 * (x[n // 2 - 1] + x[n // 2])


def block(b, x, hook_y, hook_mlp):
    """One GPT-2 block with the two hook points: the heads' values before
    c_proj, and the MLP output. Also returns the attention probabilities."""
    B, T, C = x.shape
    hs = C // b.NH
    q, k, v = b.c_attn(b.ln_1(x)).split(C, dim=2)
    q, k, v = (t.view(B, T, b.NH, hs).transpose(1, 2) for t in (q, k, v))
    att = (q @ k.transpose(2, 3)) / hs ** 0.5
    att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
    y = hook_y((att @ v).transpose(1, 2).reshape(B, T, C))
    x = x + b.c_proj(y)
    return x + hook_mlp(b.mlp_proj(F.gelu(b.c_fc(b.ln_2(x)), approximate="tanh"))), att


def run(model, ids, site=None, layer=-1, src=None, cache=None):
    """Forward of ids (B, T); site patches layer `layer` from src, row b at
    position b (or, for "head", row b's head b at every position); cache
    collects the clean values. Returns the last position's logits (B, V)."""
    x = model.wte(ids) + model.wpe.weight[: ids.shape[1]]
    B, T, C = x.shape
    ar = torch.arange(B)

    def at_pos(t, s):
        t = t.clone()
        t[ar, ar] = s[ar]
        return t

    for l, b in enumerate(model.h):
        hy, hm = (lambda y: y), (lambda m: m)
        if cache is not None:
            cache["resid"].append(x[0])
            hy = lambda y: (cache["y"].append(y[0]), y)[1]
            hm = lambda m: (cache["mlp"].append(m[0]), m)[1]
        if l == layer:
            if site == "resid":
                x = at_pos(x, src["resid"][l])
            elif site == "attn":
                hy = lambda y: at_pos(y, src["y"][l])
            elif site == "mlp":
                hm = lambda m: at_pos(m, src["mlp"][l])
            elif site == "head":
                hs = C // b.NH

                def hy(y):
                    y = y.clone().view(B, T, b.NH, hs)
                    y[ar, :, ar] = src["y"][l].view(T, b.NH, hs)[:, ar].transpose(0, 1)
                    return y.view(B, T, C)
        x, _ = block(b, x, hy, hm)
    return model.ln_f(x[:, -1]) @ model.wte.weight.t()


def patch(model, cfg, n):
    g = torch.Generator().manual_seed(3)
    clean = torch.randint(cfg["V"], (1, n), generator=g)
    corrupt = clean.clone()
    corrupt[0, n // 3] = (clean[0, n // 3] + 1) % cfg["V"]
    with torch.no_grad():
        cache = {"resid": [], "y": [], "mlp": []}
        lc = run(model, clean, cache=cache)[0]
        lx = run(model, corrupt)[0]
        t, c = (int(i) for i in lc.topk(2).indices)  # the clean run's two most probable
        ld = lambda lg: lg[:, t] - lg[:, c]
        den = ld(lc[None]) - ld(lx[None])
        batch = corrupt.expand(n, n)
        out = {}
        for site in ("resid", "attn", "mlp"):
            out[site] = torch.stack([(ld(run(model, batch, site, l, cache)) - ld(lx[None])) / den
                                     for l in range(cfg["L"])])
        heads = corrupt.expand(cfg["NH"], n)
        out["heads"] = torch.stack([(ld(run(model, heads, "head", l, cache)) - ld(lx[None])) / den
                                    for l in range(cfg["L"])])
    return out


def heads(model, cfg, N):
    g = torch.Generator().manual_seed(1)
    half = torch.randint(cfg["V"], (N,), generator=g)
    ids = torch.cat([half, half])[None]
    n = 2 * N
    with torch.no_grad():
        x = model.wte(ids) + model.wpe.weight[:n]
        scores = []
        for b in model.h:
            x, att = block(b, x, lambda y: y, lambda m: m)
            a = att[0]
            i = torch.arange(N, n)
            scores.append((a[:, torch.arange(1, n), torch.arange(n - 1)].mean(-1),
                           a[:, i, i - N].mean(-1), a[:, i[1:], i[1:] - N + 1].mean(-1)))
    return scores


def main():
    what, name, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = SIZES[name]
    torch.manual_seed(0)
    model = GPT2(cfg["V"], cfg["C"], cfg["L"], cfg["NH"], cfg["maxT"]).eval()
    reps = 1 if (what == "patch" and name == "gpt2s") else REPS
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        patch(model, cfg, k) if what == "patch" else heads(model, cfg, k)
        times.append(time.perf_counter() - t0)
    key = f"patch_all_{name}_ctx{k}" if what == "patch" else f"heads_{name}_n{k}"
    print(f"RESULT {key} {1e3 * median(times):.6g} ms")


if __name__ == "__main__":
    main()
