#!/usr/bin/python3
"""Cross-check of the Llama architecture against PyTorch, on a real
llama2.c checkpoint: ../shared/models/llama2c/stories260K.bin, external to
the project, skipped (exit status 77) without it (its own
tokenizer is not available, so everything goes by ids).

The forward pass is written here in PyTorch from the file's raw arrays, in
llama2.c / Meta's conventions (adjacent rotary pairs applied as complex
multiplication, as Meta's model.py does; lmscope instead permutes q and k
into Hugging Face's layout at load, so this also checks that permutation),
in float64 on the file's float32 weights. Compared with

    $LMSCOPE explain MODEL.bin --ids ... --json --top V --attention [--method M]

every next-token log-probability (relative 1e-4), every attention
probability, and the saliency scores of both methods (the gradient of
log p(target) by each input position's token embedding), at several
context lengths; and

    $LMSCOPE generate MODEL.bin --ids 1 -n N --temperature 0 --json

the greedy continuation from BOS, against torch's argmax step by step.
Finally `lmscope convert` writes the checkpoint as a model directory, and
Hugging Face's LlamaForCausalLM forward (rotate_half on its own q_proj /
k_proj layout), written here from the safetensors file, must compute the
same logits as the llama2.c forward on the original arrays.
Exit status 0 when everything agrees."""

import json
import os
import struct
import subprocess
import sys
import tempfile

import torch

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
MODEL = "../shared/models/llama2c/stories260K.bin"
TOL = 1e-4
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden, L, nh, nkv, vocab, seq = struct.unpack("7i", data[:28])
    shared = vocab > 0
    V = abs(vocab)
    hs = dim // nh
    flat = torch.frombuffer(bytearray(data[28:]), dtype=torch.float32).double()
    pos = 0

    def take(*shape):
        nonlocal pos
        n = 1
        for s in shape:
            n *= s
        t = flat[pos:pos + n].reshape(shape)
        pos += n
        return t

    w = {"cfg": (dim, hidden, L, nh, nkv, V, seq)}
    w["emb"] = take(V, dim)
    w["rms_att"] = take(L, dim)
    w["wq"] = take(L, nh * hs, dim)
    w["wk"] = take(L, nkv * hs, dim)
    w["wv"] = take(L, nkv * hs, dim)
    w["wo"] = take(L, dim, nh * hs)
    w["rms_ffn"] = take(L, dim)
    w["w1"] = take(L, hidden, dim)
    w["w2"] = take(L, dim, hidden)
    w["w3"] = take(L, hidden, dim)
    w["rms_final"] = take(dim)
    take(seq, hs // 2)
    take(seq, hs // 2)
    w["wcls"] = w["emb"] if shared else take(V, dim)
    assert pos == flat.numel(), "file size disagrees with its header"
    return w


def rmsnorm(x, weight):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * weight


def rotary(x, n):
    """Meta's apply_rotary_emb: pairs (2i, 2i+1) as complex numbers."""
    T, heads, hs = x.shape
    freqs = 1.0 / (10000.0 ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    angles = torch.outer(torch.arange(n, dtype=torch.float64), freqs)
    cis = torch.polar(torch.ones_like(angles), angles)  # (T, hs/2)
    xc = torch.view_as_complex(x.reshape(T, heads, hs // 2, 2).contiguous())
    return torch.view_as_real(xc * cis[:, None, :]).reshape(T, heads, hs)


def forward(w, emb):
    """emb (T, dim) -> logits (T, V), attention [L] of (heads, T, T)."""
    dim, hidden, L, nh, nkv, V, seq = w["cfg"]
    hs = dim // nh
    T = emb.shape[0]
    x = emb
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    atts = []
    for l in range(L):
        xb = rmsnorm(x, w["rms_att"][l])
        q = rotary((xb @ w["wq"][l].T).reshape(T, nh, hs), T)
        k = rotary((xb @ w["wk"][l].T).reshape(T, nkv, hs), T)
        v = (xb @ w["wv"][l].T).reshape(T, nkv, hs)
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / hs ** 0.5 + mask
        att = torch.softmax(scores, dim=-1)
        atts.append(att)
        out = torch.einsum("hts,shd->thd", att, v).reshape(T, dim)
        x = x + out @ w["wo"][l].T
        xb = rmsnorm(x, w["rms_ffn"][l])
        x = x + (torch.nn.functional.silu(xb @ w["w1"][l].T) * (xb @ w["w3"][l].T)) @ w["w2"][l].T
    x = rmsnorm(x, w["rms_final"])
    return x @ w["wcls"].T, atts


def lmscope(*args):
    r = subprocess.run([LMSCOPE, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("lmscope %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return json.loads(r.stdout)


def rel(a, b):
    return abs(a - b) / max(1.0, abs(b))


def check_explain(w, ids):
    V = w["cfg"][5]
    arg = ",".join(map(str, ids))
    emb = w["emb"][ids].clone().requires_grad_(True)
    logits, atts = forward(w, emb)
    logp = torch.log_softmax(logits[-1], -1)
    target = int(logp.argmax())
    logp[target].backward()
    g = emb.grad
    ref_norm = g.norm(dim=-1)
    ref_gxi = (g * emb.detach()).sum(-1)
    for method, ref in (("grad_norm", ref_norm), ("grad_x_input", ref_gxi)):
        out = lmscope("explain", MODEL, "--ids", arg, "--json", "--top", str(V),
                      "--method", method, "--attention")
        n = len(ids)
        got = {t["id"]: t["logprob"] for t in out["top"]}
        check(len(got) == V, "T=%d: %d of %d tokens listed" % (n, len(got), V))
        worst = max(rel(got[i], float(logp[i])) for i in got)
        check(worst <= TOL, "T=%d: log-probabilities off by %.3g" % (n, worst))
        check(out["target"]["id"] == target, "T=%d: target %d, torch %d"
              % (n, out["target"]["id"], target))
        s = out["saliency"]["scores"]
        scale = float(ref.abs().max())
        worst = max(abs(s[j] - float(ref[j])) / max(scale, 1e-12) for j in range(n))
        check(worst <= TOL, "T=%d: %s saliency off by %.3g (of the largest)" % (n, method, worst))
        a = torch.tensor(out["attention"], dtype=torch.float64)
        ref_att = torch.stack(atts)
        check(a.shape == ref_att.shape, "T=%d: attention shape %s, torch %s"
              % (n, tuple(a.shape), tuple(ref_att.shape)))
        if a.shape == ref_att.shape:
            err = float((a - ref_att).abs().max())
            check(err <= TOL, "T=%d: attention off by %.3g" % (n, err))
    print("T=%d: log-probs, attention and saliency agree" % len(ids))


def check_greedy(w, n):
    out = lmscope("generate", MODEL, "--ids", "1", "-n", str(n), "--temperature", "0", "--json")
    got = out["ids"]
    seq = [1]
    with torch.no_grad():
        for k in range(n):
            logits, _ = forward(w, w["emb"][seq])
            top2 = torch.topk(logits[-1], 2)
            nxt = int(top2.indices[0])
            if float(top2.values[0] - top2.values[1]) < 1e-4:
                print("greedy: near tie at step %d, compared %d tokens" % (k, k))
                break
            check(k < len(got) and got[k] == nxt, "greedy step %d: lmscope %s, torch %d"
                  % (k, got[k] if k < len(got) else None, nxt))
            if failures:
                break
            seq.append(nxt)
    print("greedy continuation from BOS:", got[:len(seq) - 1])


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", t["dtype"]
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[base + a:base + b]),
                                     dtype=torch.float32).double().reshape(t["shape"])
    return out


def hf_forward(cfg, sd, ids):
    """Hugging Face's LlamaForCausalLM forward: rotate_half rotary embeddings
    on its own q_proj / k_proj layout. -> logits (T, V)."""
    C, L, nh, nkv = cfg["hidden_size"], cfg["num_hidden_layers"], \
        cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hs, T = C // nh, len(ids)
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    inv = 1.0 / (theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    ang = torch.cat((ang, ang), -1)[:, None, :]
    cos, sin = ang.cos(), ang.sin()

    def rot_half(x):
        return torch.cat((-x[..., hs // 2:], x[..., :hs // 2]), -1)

    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    x = sd["model.embed_tokens.weight"][ids]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(L):
        p = "model.layers.%d." % l
        h = norm(x, sd[p + "input_layernorm.weight"])
        q = (h @ sd[p + "self_attn.q_proj.weight"].T).reshape(T, nh, hs)
        k = (h @ sd[p + "self_attn.k_proj.weight"].T).reshape(T, nkv, hs)
        v = (h @ sd[p + "self_attn.v_proj.weight"].T).reshape(T, nkv, hs)
        q = q * cos + rot_half(q) * sin
        k = k * cos + rot_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        att = torch.softmax(torch.einsum("thd,shd->hts", q, k) / hs ** 0.5 + mask, -1)
        x = x + torch.einsum("hts,shd->thd", att, v).reshape(T, C) @ sd[p + "self_attn.o_proj.weight"].T
        h = norm(x, sd[p + "post_attention_layernorm.weight"])
        g = torch.nn.functional.silu(h @ sd[p + "mlp.gate_proj.weight"].T)
        x = x + (g * (h @ sd[p + "mlp.up_proj.weight"].T)) @ sd[p + "mlp.down_proj.weight"].T
    x = norm(x, sd["model.norm.weight"])
    head = sd["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else sd["lm_head.weight"]
    return x @ head.T


def check_convert(w, ids):
    """lmscope convert's directory, read as Hugging Face would read it,
    computes the checkpoint's function."""
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([LMSCOPE, "convert", MODEL, "-o", d + "/m"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("lmscope convert failed: " + r.stderr)
        cfg = json.load(open(d + "/m/config.json"))
        sd = read_safetensors(d + "/m/model.safetensors")
    check(cfg["model_type"] == "llama", "converted config is not llama")
    with torch.no_grad():
        hf = hf_forward(cfg, sd, ids)
        meta, _ = forward(w, w["emb"][ids])
    err = float((hf - meta).abs().max() / meta.abs().max())
    check(err <= 1e-9, "converted directory under Hugging Face's conventions differs by %.3g" % err)
    print("converted directory: Hugging Face's forward equals llama2.c's (%.2g)" % err)


def main():
    if not os.path.exists(MODEL):  # external (../shared): the whole check is skipped
        print("SKIP: llama_crosscheck.py: %s missing" % MODEL)
        sys.exit(77)
    torch.manual_seed(0)
    w = load(MODEL)
    V, seq = w["cfg"][5], w["cfg"][6]
    ids = [1] + torch.randint(3, V, (40,)).tolist()
    for n in (1, 2, 9, 41):
        check_explain(w, ids[:n])
    check_greedy(w, 48)
    check_convert(w, ids)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("llama cross-check: all agree")


if __name__ == "__main__":
    main()
