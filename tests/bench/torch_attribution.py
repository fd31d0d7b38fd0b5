"""PyTorch's side of the attribution benchmark (bench_attribution.c): the
same GPT-2, integrated gradients with 32 steps (34 rows: the path midpoints
and both ends, one batched forward and backward to the inputs) and lime's
256 masked variants (forward only, in batches of 64). The LASSO fit that
lmscope includes in its lime time is not timed here.

    python3 torch_attribution.py ig|lime CTX
"""
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

REPS = 7


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.NH
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(B, T, self.NH, hs).transpose(1, 2)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        att = (q @ k.transpose(2, 3)) / hs ** 0.5
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, V=8192, C=256, L=4, NH=4, maxT=1024):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(maxT, C)
        self.h = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, emb):
        """emb (B, T, C) -> log-probabilities (B, V) after the last position."""
        x = emb + self.wpe.weight[: emb.shape[1]]
        for b in self.h:
            x = b(x)
        return (self.ln_f(x[:, -1]) @ self.wte.weight.t()).log_softmax(-1)


def median(x):
    x = sorted(x)
    n = len(x)
    return x[n // 2] if n % 2 else 0.5 * (x[n // 2 - 1] + x[n // 2])


def integrated_gradients(model, e, target, steps=32):
    base = torch.zeros_like(e)
    alphas = torch.cat([(torch.arange(steps) + 0.5) / steps, torch.tensor([1.0, 0.0])])
    path = (base + alphas[:, None, None] * (e - base)).detach().requires_grad_(True)
    logp = model(path)[:, target]
    logp[:steps].sum().backward(inputs=[path])
    scores = ((e - base) * path.grad[:steps].mean(0)).sum(-1)
    gap = scores.sum() - (logp[steps] - logp[steps + 1])
    return scores, float(gap)


def lime_evaluations(model, table, ids, target, samples=256, batch=64):
    n = ids.shape[0]
    keep = torch.rand(samples, n) < 0.5
    keep[0] = True
    out = []
    with torch.no_grad():
        for s in range(0, samples, batch):
            var = torch.where(keep[s:s + batch], ids, torch.zeros_like(ids))
            out.append(model(table[var])[:, target])
    return keep, torch.cat(out)


def main():
    which, n = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    model = GPT2()
    table = model.wte.weight.detach()
    ids = torch.randint(0, 8192, (n,))
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        if which == "ig":
            _, gap = integrated_gradients(model, table[ids], 17)
        else:
            lime_evaluations(model, table, ids, 17)
        times.append(time.perf_counter() - t0)
    key = f"attr_ig32_ctx{n}" if which == "ig" else f"attr_lime256_ctx{n}"
    print(f"RESULT {key} {1e3 * median(times):.6g} ms")


if __name__ == "__main__":
    main()
