"""The benchmark models in PyTorch, shared by torch_engine.py,
torch_attribution.py and torch_train.py: GPT-2 (4 layers, 4 heads, d=256,
vocabulary 8192, tied output) and the textbook LSTM LM (2 layers, d=256).

Both take embeddings (B, T, C), so a benchmark can time the lookup its own
way or differentiate with respect to them: forward gives the logits at every
position (B, T, V), last_logits only those after the last position (B, V).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


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

    def embed(self, ids):
        return self.wte(ids)

    def residual(self, emb):
        """emb (B, T, C) -> the residual stream after the last block."""
        x = emb + self.wpe.weight[: emb.shape[1]]
        for b in self.h:
            x = b(x)
        return x

    def forward(self, emb):
        return self.ln_f(self.residual(emb)) @ self.wte.weight.t()

    def last_logits(self, emb):
        return self.ln_f(self.residual(emb)[:, -1]) @ self.wte.weight.t()


class LSTMLM(nn.Module):
    def __init__(self, V=8192, C=256, L=2):
        super().__init__()
        self.embedding = nn.Embedding(V, C)
        self.encoder = nn.LSTM(C, C, L, batch_first=True)
        self.output = nn.Linear(C, V)

    def embed(self, ids):
        return self.embedding(ids)

    def forward(self, emb):
        return self.output(self.encoder(emb)[0])

    def last_logits(self, emb):
        return self.output(self.encoder(emb)[0][:, -1])
