"""Training and evaluation throughput of the benchmark models in PyTorch:
GPT-2 (4 layers, 4 heads, d=256, vocab 8192, tied output) and the textbook
LSTM LM (2 layers, d=256, vocab 8192), AdamW, batch 8 x context 64, random
tokens. Prints "RESULT train_<arch> <tokens/s> tok/s" and
"RESULT eval_<arch> <tokens/s> tok/s"."""
import sys
import time

import torch
import torch.nn as nn

V, C, T, B = 8192, 256, 64, 8
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 20


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, 4 * C)
        self.proj = nn.Linear(4 * C, C)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, 4, C // 4).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / (C // 4) ** 0.5
        att = att.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, C)
        x = x + self.c_proj(y)
        return x + self.proj(nn.functional.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList(Block() for _ in range(4))
        self.ln_f = nn.LayerNorm(C)

    def forward(self, x):
        h = self.wte(x) + self.wpe(torch.arange(x.shape[1]))
        for blk in self.h:
            h = blk(h)
        return self.ln_f(h) @ self.wte.weight.T


class LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, C)
        self.encoder = nn.LSTM(C, C, 2, batch_first=True)
        self.output = nn.Linear(C, V)

    def forward(self, x):
        return self.output(self.encoder(self.embedding(x))[0])


def bench(name, model):
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, V, (B, T + 1), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x[:, :-1]).reshape(-1, V), x[:, 1:].reshape(-1))
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
    print(f"RESULT train_{name} {STEPS * B * T / dt:.1f} tok/s")
    with torch.no_grad():
        for _ in range(2):
            loss_fn(model(x[:, :-1]).reshape(-1, V), x[:, 1:].reshape(-1))
        t0 = time.perf_counter()
        for _ in range(STEPS):
            loss_fn(model(x[:, :-1]).reshape(-1, V), x[:, 1:].reshape(-1))
        dt = time.perf_counter() - t0
    print(f"RESULT eval_{name} {STEPS * B * T / dt:.1f} tok/s")


torch.manual_seed(0)
bench("gpt2", GPT2())
bench("lstm", LSTM())
