"""Evaluation throughput at GPT-2 small's shape (12 layers, 12 heads, d=768,
vocabulary 50257, tied output) in PyTorch: mean cross-entropy of batches of
B windows of CTX tokens without gradients, as `bench eval gpt2-small` runs
lms_eval_stream. Prints "RESULT eval_gpt2small <tokens/s> tok/s", counting
the CTX - 1 targets each window scores in lmscope's stride CTX - 1.
    torch_eval.py [CTX [B [WINDOWS]]]   defaults 64, 8, 32"""
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import GPT2  # noqa: E402

T = int(sys.argv[1]) if len(sys.argv) > 1 else 64
B = int(sys.argv[2]) if len(sys.argv) > 2 else 8
WINDOWS = int(sys.argv[3]) if len(sys.argv) > 3 else 32
V = 50257

torch.manual_seed(0)
model = GPT2(V, 768, 12, 12, 1024)
g = torch.Generator().manual_seed(3)
x = torch.randint(0, V, (B, T), generator=g)
loss_fn = nn.CrossEntropyLoss()


def batch():
    return loss_fn(model(model.embed(x[:, :-1])).reshape(-1, V), x[:, 1:].reshape(-1))


with torch.no_grad():
    batch()
    t0 = time.perf_counter()
    nb = (WINDOWS + B - 1) // B
    for _ in range(nb):
        batch()
    dt = time.perf_counter() - t0
print(f"RESULT eval_gpt2small {WINDOWS * (T - 1) / dt:.1f} tok/s")
