"""PyTorch's side of the engine benchmark: the same GPT-2 and LSTM workloads
as bench_engine.c, printed as RESULT lines with the same keys.

    python3 torch_engine.py gpt2|lstm CTX
"""
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import GPT2, LSTMLM  # noqa: E402

REPS = 30


def median(x):
    x = sorted(x)
    n = len(x)
    return x[n // 2] if n % 2 else 0.5 * (x[n // 2 - 1] + x[n // 2])


def main():
    arch, n = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    model = GPT2() if arch == "gpt2" else LSTMLM()
    table = model.wte.weight if arch == "gpt2" else model.embedding.weight
    ids = torch.randint(0, 8192, (n,))
    fwd, full = [], []
    for _ in range(REPS):
        t0 = time.perf_counter()
        with torch.no_grad():
            model.last_logits(table[ids][None])
        fwd.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        emb = table[ids].detach().requires_grad_(True)
        logp = model.last_logits(emb[None])[0].log_softmax(-1)
        logp[logp.argmax()].backward(inputs=[emb])
        full.append(time.perf_counter() - t0)
    print(f"RESULT {arch}_ctx{n}_forward {1e3 * median(fwd):.6g} ms")
    print(f"RESULT {arch}_ctx{n}_fwd_bwd_full {1e3 * median(full):.6g} ms")
    print(f"RESULT {arch}_ctx{n}_keystroke {1e3 * median(full):.6g} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"RESULT {arch}_ctx{n}_peak_rss {rss:.6g} MiB")


if __name__ == "__main__":
    main()
