"""PyTorch's side of the engine benchmark: the same GPT-2 and LSTM workloads
as bench_engine.c, printed as RESULT lines with the same keys.

    python3 torch_engine.py gpt2|lstm CTX
"""
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

REPS = 30


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
        T, C = x.shape
        hs = C // self.NH
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=1)
        q = q.view(T, self.NH, hs).transpose(0, 1)
        k = k.view(T, self.NH, hs).transpose(0, 1)
        v = v.view(T, self.NH, hs).transpose(0, 1)
        att = (q @ k.transpose(1, 2)) / hs ** 0.5
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
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
        x = emb + self.wpe.weight[: emb.shape[0]]
        for b in self.h:
            x = b(x)
        return self.ln_f(x[-1]) @ self.wte.weight.t()


class LSTMLM(nn.Module):
    def __init__(self, V=8192, C=256, L=2):
        super().__init__()
        self.embedding = nn.Embedding(V, C)
        self.encoder = nn.LSTM(C, C, L, batch_first=True)
        self.output = nn.Linear(C, V)

    def forward(self, emb):
        h, _ = self.encoder(emb.unsqueeze(0))
        return self.output(h[0, -1])


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
            model(table[ids])
        fwd.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        emb = table[ids].detach().requires_grad_(True)
        logp = model(emb).log_softmax(-1)
        logp[logp.argmax()].backward(inputs=[emb])
        full.append(time.perf_counter() - t0)
    print(f"RESULT {arch}_ctx{n}_forward {1e3 * median(fwd):.6g} ms")
    print(f"RESULT {arch}_ctx{n}_fwd_bwd_full {1e3 * median(full):.6g} ms")
    print(f"RESULT {arch}_ctx{n}_keystroke {1e3 * median(full):.6g} ms")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"RESULT {arch}_ctx{n}_peak_rss {rss:.6g} MiB")


if __name__ == "__main__":
    main()
