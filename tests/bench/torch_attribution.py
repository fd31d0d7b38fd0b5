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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import GPT2  # noqa: E402

REPS = 7


def median(x):
    x = sorted(x)
    n = len(x)
    return x[n // 2] if n % 2 else 0.5 * (x[n // 2 - 1] + x[n // 2])


def integrated_gradients(model, e, target, steps=32):
    base = torch.zeros_like(e)
    alphas = torch.cat([(torch.arange(steps) + 0.5) / steps, torch.tensor([1.0, 0.0])])
    path = (base + alphas[:, None, None] * (e - base)).detach().requires_grad_(True)
    logp = model.last_logits(path).log_softmax(-1)[:, target]
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
            out.append(model.last_logits(table[var]).log_softmax(-1)[:, target])
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
