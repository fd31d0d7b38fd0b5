"""Training and evaluation throughput of the benchmark models in PyTorch:
GPT-2 (4 layers, 4 heads, d=256, vocab 8192, tied output) and the textbook
LSTM LM (2 layers, d=256, vocab 8192), AdamW, batch 8 x context 64 (or B x
T), random tokens. Prints "RESULT train_<arch> <tokens/s> tok/s" and
"RESULT eval_<arch> <tokens/s> tok/s"; at another batch shape, only the
training figure, as "RESULT train_<arch>_b<B>x<T> ...".
    torch_train.py [STEPS [B T]]"""
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import GPT2, LSTMLM  # noqa: E402

V, C = 8192, 256
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
B = int(sys.argv[2]) if len(sys.argv) > 2 else 8
T = int(sys.argv[3]) if len(sys.argv) > 3 else 64
SHAPE = "" if (B, T) == (8, 64) else f"_b{B}x{T}"


def bench(name, model):
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, V, (B, T + 1), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(model.embed(x[:, :-1])).reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(STEPS):
        step()
    dt = time.perf_counter() - t0
    print(f"RESULT train_{name}{SHAPE} {STEPS * B * T / dt:.1f} tok/s")
    if SHAPE:
        return
    with torch.no_grad():
        for _ in range(2):
            loss_fn(model(model.embed(x[:, :-1])).reshape(-1, V), x[:, 1:].reshape(-1))
        t0 = time.perf_counter()
        for _ in range(STEPS):
            loss_fn(model(model.embed(x[:, :-1])).reshape(-1, V), x[:, 1:].reshape(-1))
        dt = time.perf_counter() - t0
    print(f"RESULT eval_{name} {STEPS * B * T / dt:.1f} tok/s")


torch.manual_seed(0)
bench("gpt2", GPT2(V, C, 4, 4, T))
bench("lstm", LSTMLM(V, C, 2))
