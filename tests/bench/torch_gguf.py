"""PyTorch's side of tests/bench/bench_gguf.c: a Llama of the same shape
with random float32 weights (the dequantized form of the GGUF files),
timed on the same workloads at context 64: keystroke-to-candidates (the
appended position against a KV cache of the 63 before it, and its logits)
and the full update with saliency (64 positions forward, log p(argmax)
backward to the input embeddings). Prints RESULT lines keyed like lmscope's.

    python3 torch_gguf.py tinyllama|smollm2 NAME
"""
import sys
import time

import torch

SHAPES = {"tinyllama": dict(L=22, C=2048, H=5632, NH=32, KV=4, V=32000),
          "smollm2": dict(L=30, C=576, H=1536, NH=9, KV=3, V=49152)}
CTX, REPS = 64, 5


def main(shape, name):
    s = SHAPES[shape]
    C, H, L, NH, KV, V = s["C"], s["H"], s["L"], s["NH"], s["KV"], s["V"]
    hs = C // NH
    g = torch.Generator().manual_seed(1)

    def w(*shape):
        return torch.randn(*shape, generator=g) * 0.02

    emb, head = w(V, C), w(V, C)
    layers = [dict(q=w(C, C), k=w(KV * hs, C), v=w(KV * hs, C), o=w(C, C), g=w(H, C), u=w(H, C),
                   d=w(C, H), n1=1 + w(C), n2=1 + w(C)) for _ in range(L)]
    nf = 1 + w(C)
    inv = 1.0 / (10000.0 ** (torch.arange(0, hs, 2).float() / hs))
    ang = torch.outer(torch.arange(CTX).float(), inv)
    cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()

    def rope(x, p0):  # x (T, heads, hs)
        T = x.shape[0]
        c, s_ = cos[p0:p0 + T, None, :], sin[p0:p0 + T, None, :]
        return x * c + torch.cat((-x[..., hs // 2:], x[..., :hs // 2]), -1) * s_

    def norm(x, gw):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * gw

    def forward(x, p0=0, cache=None):
        """x (T, C) at positions p0 ..; cache: per layer (k, v) of earlier positions."""
        T = x.shape[0]
        new = []
        for i, ly in enumerate(layers):
            h = norm(x, ly["n1"])
            q = rope((h @ ly["q"].T).view(T, NH, hs), p0)
            k = rope((h @ ly["k"].T).view(T, KV, hs), p0)
            v = (h @ ly["v"].T).view(T, KV, hs)
            if cache is not None:
                k, v = torch.cat((cache[i][0], k)), torch.cat((cache[i][1], v))
            new.append((k, v))
            kk, vv = k.repeat_interleave(NH // KV, 1), v.repeat_interleave(NH // KV, 1)
            S = kk.shape[0]
            sc = torch.einsum("thd,shd->hts", q, kk) / hs ** 0.5
            mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
            att = torch.softmax(sc.masked_fill(~mask, float("-inf")), -1)
            x = x + torch.einsum("hts,shd->thd", att, vv).reshape(T, C) @ ly["o"].T
            h = norm(x, ly["n2"])
            x = x + (torch.nn.functional.silu(h @ ly["g"].T) * (h @ ly["u"].T)) @ ly["d"].T
        return norm(x, nf), new

    ids = torch.tensor([(i * 7919 + 13) % V for i in range(CTX)])
    with torch.no_grad():
        _, cache = forward(emb[ids[:-1]])
    tk, tf = [], []
    for _ in range(REPS):
        t0 = time.perf_counter()
        with torch.no_grad():
            h, _ = forward(emb[ids[-1:]], CTX - 1, cache)
            logits = h @ head.T
        tk.append(time.perf_counter() - t0)
        target = int(logits[-1].argmax())
        t0 = time.perf_counter()
        e = emb[ids].clone().requires_grad_(True)
        h, _ = forward(e)
        torch.log_softmax(h[-1] @ head.T, -1)[target].backward()
        tf.append(time.perf_counter() - t0)
    print("RESULT gguf_%s_keystroke_ctx64_ms %.6g ms" % (name, 1e3 * min(tk)))
    print("RESULT gguf_%s_saliency_ctx64_ms %.6g ms" % (name, 1e3 * min(tf)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
