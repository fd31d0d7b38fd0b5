"""Tiny model directories for the command-line tests, written with the
standard library only (struct + json), and a plain-Python reference forward
pass to check lmscope's numbers against.

This file is an independent implementation: it shares no code with lmscope.
It writes config.json + model.safetensors the way Hugging Face / PyTorch
name and lay out GPT-2 and the textbook LSTM language model.

    python3 tests/cli/tinymodel.py gpt2|lstm DIR [--dtype F32|F16|BF16]
                                   [--prefix transformer.] [--seed N]
"""
import json
import math
import os
import random
import struct
import sys

GPT2 = dict(V=11, C=8, L=2, NH=2, P=16, eps=1e-5)
LSTM = dict(V=13, E=6, H=7, L=2)


def quantize(x, dtype):
    """The value a dtype stores for x (round to nearest even for F16,
    truncation for BF16: the data is made representable before writing)."""
    if dtype == "F16":
        return struct.unpack("<e", struct.pack("<e", x))[0]
    f = struct.unpack("<f", struct.pack("<f", x))[0]
    if dtype == "BF16":
        bits = struct.unpack("<I", struct.pack("<f", f))[0] & 0xFFFF0000
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    return f


def encode(values, dtype):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    out = bytearray()
    for v in values:
        out += struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:4]
    return bytes(out)


def safetensors_bytes(tensors, dtype="F32", metadata=None, pad=True):
    """tensors: list of (name, shape, flat values). Returns the file's bytes."""
    size = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, vals in tensors:
        blob = encode(vals, dtype)
        assert len(blob) == size * len(vals)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def gpt2_tensors(cfg, seed=1, dtype="F32"):
    """(name, shape, values) in Hugging Face GPT-2's names and layouts."""
    g = random.Random(seed)
    V, C, L, P = cfg["V"], cfg["C"], cfg["L"], cfg["P"]
    H = 4 * C

    def normal(shape, std, mean=0.0):
        return (shape, [quantize(mean + g.gauss(0.0, std), dtype) for _ in range(numel(shape))])

    out = [("wte.weight",) + normal((V, C), 0.5), ("wpe.weight",) + normal((P, C), 0.3)]
    for l in range(L):
        p = "h.%d." % l
        out += [
            (p + "ln_1.weight",) + normal((C,), 0.1, 1.0), (p + "ln_1.bias",) + normal((C,), 0.1),
            (p + "attn.c_attn.weight",) + normal((C, 3 * C), 0.4), (p + "attn.c_attn.bias",) + normal((3 * C,), 0.1),
            (p + "attn.c_proj.weight",) + normal((C, C), 0.3), (p + "attn.c_proj.bias",) + normal((C,), 0.1),
            (p + "ln_2.weight",) + normal((C,), 0.1, 1.0), (p + "ln_2.bias",) + normal((C,), 0.1),
            (p + "mlp.c_fc.weight",) + normal((C, H), 0.3), (p + "mlp.c_fc.bias",) + normal((H,), 0.1),
            (p + "mlp.c_proj.weight",) + normal((H, C), 0.2), (p + "mlp.c_proj.bias",) + normal((C,), 0.1),
        ]
    out += [("ln_f.weight",) + normal((C,), 0.1, 1.0), ("ln_f.bias",) + normal((C,), 0.1)]
    return out


def gpt2_config(cfg):
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": cfg["V"],
            "n_positions": cfg["P"], "n_embd": cfg["C"], "n_layer": cfg["L"], "n_head": cfg["NH"],
            "layer_norm_epsilon": cfg["eps"], "activation_function": "gelu_new",
            "bos_token_id": 0, "torch_dtype": "float32"}


def lstm_tensors(cfg, seed=2, dtype="F32"):
    g = random.Random(seed)
    V, E, H, L = cfg["V"], cfg["E"], cfg["H"], cfg["L"]

    def normal(shape, std):
        return (shape, [quantize(g.gauss(0.0, std), dtype) for _ in range(numel(shape))])

    out = [("embedding.weight",) + normal((V, E), 1.0)]
    for l in range(L):
        out += [("encoder.weight_ih_l%d" % l,) + normal((4 * H, E if l == 0 else H), 0.5),
                ("encoder.weight_hh_l%d" % l,) + normal((4 * H, H), 0.5),
                ("encoder.bias_ih_l%d" % l,) + normal((4 * H,), 0.2),
                ("encoder.bias_hh_l%d" % l,) + normal((4 * H,), 0.2)]
    out += [("output.weight",) + normal((V, H), 0.7), ("output.bias",) + normal((V,), 0.2)]
    return out


def lstm_config(cfg):
    return {"model_type": "lstm", "vocab_size": cfg["V"], "embedding_dim": cfg["E"],
            "hidden_dim": cfg["H"], "num_layers": cfg["L"]}


def write_model(path, config, tensors, dtype="F32", prefix=""):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    named = [(prefix + n, s, v) for n, s, v in tensors]
    with open(os.path.join(path, "model.safetensors"), "wb") as f:
        f.write(safetensors_bytes(named, dtype, {"format": "pt"}))


# ---- reference forward passes (double precision, plain loops) ---------------

def rows(vals, r, c):
    return [vals[i * c:(i + 1) * c] for i in range(r)]


def matvec_in_out(x, w, cols):
    """x (in) @ w (in, out) as stored by GPT-2's Conv1D."""
    out = [0.0] * cols
    for i, xi in enumerate(x):
        row = w[i * cols:(i + 1) * cols]
        for j in range(cols):
            out[j] += xi * row[j]
    return out


def matvec_out_in(w, x, nout):
    """w (out, in) @ x as stored by nn.Linear / nn.LSTM."""
    n = len(x)
    return [sum(w[i * n + k] * x[k] for k in range(n)) for i in range(nout)]


def layernorm(x, w, b, eps):
    m = sum(x) / len(x)
    v = sum((a - m) ** 2 for a in x) / len(x)
    s = 1.0 / math.sqrt(v + eps)
    return [(a - m) * s * wi + bi for a, wi, bi in zip(x, w, b)]


def gelu(x):
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_forward(cfg, T, emb):
    """emb: one token-embedding row per position. Returns (logits of the
    last position, attention[l][h][q][k])."""
    C, NH, L, V = cfg["C"], cfg["NH"], cfg["L"], cfg["V"]
    hs = C // NH
    wpe = T["wpe.weight"]
    x = [[e + p for e, p in zip(emb[t], wpe[t * C:(t + 1) * C])] for t in range(len(emb))]
    n = len(x)
    attn = []
    for l in range(L):
        p = "h.%d." % l
        a = [layernorm(xt, T[p + "ln_1.weight"], T[p + "ln_1.bias"], cfg["eps"]) for xt in x]
        qkv = [[u + b for u, b in zip(matvec_in_out(at, T[p + "attn.c_attn.weight"], 3 * C), T[p + "attn.c_attn.bias"])]
               for at in a]
        y = [[0.0] * C for _ in range(n)]
        la = []
        for h in range(NH):
            mat = []
            for q in range(n):
                qv = qkv[q][h * hs:(h + 1) * hs]
                sc = [sum(qv[i] * qkv[k][C + h * hs + i] for i in range(hs)) / math.sqrt(hs) for k in range(q + 1)]
                mx = max(sc)
                ex = [math.exp(s - mx) for s in sc]
                z = sum(ex)
                pr = [e / z for e in ex]
                for k in range(q + 1):
                    for i in range(hs):
                        y[q][h * hs + i] += pr[k] * qkv[k][2 * C + h * hs + i]
                mat.append(pr + [0.0] * (n - q - 1))
            la.append(mat)
        attn.append(la)
        for t in range(n):
            o = matvec_in_out(y[t], T[p + "attn.c_proj.weight"], C)
            x[t] = [xi + oi + bi for xi, oi, bi in zip(x[t], o, T[p + "attn.c_proj.bias"])]
        for t in range(n):
            m = layernorm(x[t], T[p + "ln_2.weight"], T[p + "ln_2.bias"], cfg["eps"])
            f = [gelu(u + b) for u, b in zip(matvec_in_out(m, T[p + "mlp.c_fc.weight"], 4 * C), T[p + "mlp.c_fc.bias"])]
            o = matvec_in_out(f, T[p + "mlp.c_proj.weight"], C)
            x[t] = [xi + oi + bi for xi, oi, bi in zip(x[t], o, T[p + "mlp.c_proj.bias"])]
    hf = layernorm(x[-1], T["ln_f.weight"], T["ln_f.bias"], cfg["eps"])
    wte = T["wte.weight"]
    logits = [sum(wte[v * C + i] * hf[i] for i in range(C)) for v in range(V)]
    return logits, attn


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def lstm_forward(cfg, T, emb):
    H, L, V = cfg["H"], cfg["L"], cfg["V"]
    xs = emb
    for l in range(L):
        h, c, outs = [0.0] * H, [0.0] * H, []
        for x in xs:
            gi = matvec_out_in(T["encoder.weight_ih_l%d" % l], x, 4 * H)
            gh = matvec_out_in(T["encoder.weight_hh_l%d" % l], h, 4 * H)
            g = [a + b + c1 + d for a, b, c1, d in zip(gi, gh, T["encoder.bias_ih_l%d" % l], T["encoder.bias_hh_l%d" % l])]
            i_, f_, g_, o_ = g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]
            c = [sigmoid(f_[k]) * c[k] + sigmoid(i_[k]) * math.tanh(g_[k]) for k in range(H)]
            h = [sigmoid(o_[k]) * math.tanh(c[k]) for k in range(H)]
            outs.append(h)
        xs = outs
    logits = [a + b for a, b in zip(matvec_out_in(T["output.weight"], xs[-1], V), T["output.bias"])]
    return logits, None


def log_softmax(x):
    m = max(x)
    z = m + math.log(sum(math.exp(v - m) for v in x))
    return [v - z for v in x]


def explain_reference(arch, cfg, tensors, ids, target=None, contrast=None, eps=1e-4):
    """The numbers `lmscope explain` should print: log-probabilities,
    attention, and the gradient of log p(target) [- log p(contrast)] with
    respect to each input token-embedding row, by central differences."""
    T = {n: v for n, s, v in tensors}
    fwd = gpt2_forward if arch == "gpt2" else lstm_forward
    width = cfg["C"] if arch == "gpt2" else cfg["E"]
    wte = T["wte.weight"] if arch == "gpt2" else T["embedding.weight"]
    emb = [list(wte[i * width:(i + 1) * width]) for i in ids]
    logits, attn = fwd(cfg, T, emb)
    lp = log_softmax(logits)
    if target is None:
        target = max(range(len(lp)), key=lambda k: lp[k])

    def objective(e):
        l = log_softmax(fwd(cfg, T, e)[0])
        return l[target] - (l[contrast] if contrast is not None else 0.0)

    grad = []
    for j in range(len(ids)):
        gj = []
        for k in range(width):
            keep = emb[j][k]
            emb[j][k] = keep + eps
            fp = objective(emb)
            emb[j][k] = keep - eps
            fm = objective(emb)
            emb[j][k] = keep
            gj.append((fp - fm) / (2 * eps))
        grad.append(gj)
    return {"logprob": lp, "attention": attn, "target": target, "grad": grad, "emb": emb}


def main(argv):
    arch, path = argv[1], argv[2]
    dtype, prefix, seed = "F32", "", 1
    i = 3
    while i < len(argv):
        if argv[i] == "--dtype":
            dtype = argv[i + 1]
        elif argv[i] == "--prefix":
            prefix = argv[i + 1]
        elif argv[i] == "--seed":
            seed = int(argv[i + 1])
        else:
            sys.exit("tinymodel.py: unknown option " + argv[i])
        i += 2
    if arch == "gpt2":
        write_model(path, gpt2_config(GPT2), gpt2_tensors(GPT2, seed, dtype), dtype, prefix)
    elif arch == "lstm":
        write_model(path, lstm_config(LSTM), lstm_tensors(LSTM, seed, dtype), dtype, prefix)
    else:
        sys.exit("tinymodel.py: gpt2 or lstm")


if __name__ == "__main__":
    main(sys.argv)
