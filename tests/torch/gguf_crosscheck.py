#!/usr/bin/python3
"""Cross-check of GGUF files against PyTorch, for every tensor type.

A random-weight Llama (grouped-query attention, untied head, widths that
are whole K-quant super-blocks), and a Qwen2 (the same with q, k, v biases),
are written here as Hugging Face directories (config.json +
model.safetensors), converted by

    $LMSCOPE convert DIR -o MODEL.gguf --type T

for T in F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K and
Q4_K_M (the Qwen2 in F32, Q8_0, Q5_1 and Q4_K_M), and each file is read back by a GGUF parser and dequantizers written
here from the format's definition (llama.cpp's gguf.py and
ggml-quants.c dequantize_row_*; nothing shared with lmscope). Checked:

  - the metadata (architecture, sizes) and that each tensor's storage type
    is the one asked for (Q4_K_M: Q6_K for attn_v, ffn_down and output);
  - F32: every tensor equals the original, with attn_q/attn_k rows in
    llama.cpp's permuted layout (convert_hf_to_gguf.py's permute);
  - every type: dequantized matrices within the format's error of the
    originals (the writer quantizes sensibly);
  - every type: lmscope's log-probabilities (relative 1e-4), attention
    probabilities and grad-norm / grad-x-input saliency on the .gguf equal a
    float64 PyTorch forward and autograd on the dequantized weights, in
    GGUF's own layout: Meta's adjacent-pair rotary embedding for llama,
    rotate_half on unpermuted rows for qwen2 (llama.cpp's NEOX rope).
Exit status 0 when everything agrees."""

import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import tinymodel as tm  # noqa: E402

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-4
CFG = dict(V=96, C=256, H=512, L=2, NH=4, KV=2, T=32, eps=1e-5, theta=10000.0)
TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K",
         "Q4_K_M"]
QWEN2_TYPES = ["F32", "Q8_0", "Q5_1", "Q4_K_M"]
# relative RMS error of a quantized matrix (about half a quantization step)
ERR = {"F32": 0, "F16": 1e-3, "BF16": 5e-3, "Q8_0": 0.01, "Q4_0": 0.12, "Q4_1": 0.09,
       "Q5_0": 0.06, "Q5_1": 0.045, "Q4_K": 0.1, "Q5_K": 0.05, "Q6_K": 0.03}
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


# ---- the model, Hugging Face layout -------------------------------------------------

def make_model(d, qwen2=False):
    g = torch.Generator().manual_seed(3)
    C, H, L, V, KC = CFG["C"], CFG["H"], CFG["L"], CFG["V"], CFG["KV"] * CFG["C"] // CFG["NH"]

    def normal(*shape, std):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std

    sd = {"model.embed_tokens.weight": normal(V, C, std=1.0)}
    for l in range(L):
        p = "model.layers.%d." % l
        sd[p + "input_layernorm.weight"] = 1 + normal(C, std=0.1)
        sd[p + "self_attn.q_proj.weight"] = normal(C, C, std=2 / C ** 0.5)
        sd[p + "self_attn.k_proj.weight"] = normal(KC, C, std=2 / C ** 0.5)
        sd[p + "self_attn.v_proj.weight"] = normal(KC, C, std=1 / C ** 0.5)
        if qwen2:
            sd[p + "self_attn.q_proj.bias"] = normal(C, std=0.5)
            sd[p + "self_attn.k_proj.bias"] = normal(KC, std=0.5)
            sd[p + "self_attn.v_proj.bias"] = normal(KC, std=0.5)
        sd[p + "self_attn.o_proj.weight"] = normal(C, C, std=1 / C ** 0.5)
        sd[p + "post_attention_layernorm.weight"] = 1 + normal(C, std=0.1)
        sd[p + "mlp.gate_proj.weight"] = normal(H, C, std=1 / C ** 0.5)
        sd[p + "mlp.up_proj.weight"] = normal(H, C, std=1 / C ** 0.5)
        sd[p + "mlp.down_proj.weight"] = normal(C, H, std=1 / H ** 0.5)
    sd["model.norm.weight"] = 1 + normal(C, std=0.1)
    sd["lm_head.weight"] = normal(V, C, std=1 / C ** 0.5)
    sd = {k: v.float().double() for k, v in sd.items()}  # float32 values
    config = {"model_type": "qwen2" if qwen2 else "llama",
              "architectures": ["Qwen2ForCausalLM" if qwen2 else "LlamaForCausalLM"], "vocab_size": V,
              "hidden_size": C, "intermediate_size": H, "num_hidden_layers": L,
              "num_attention_heads": CFG["NH"], "num_key_value_heads": CFG["KV"],
              "max_position_embeddings": CFG["T"], "rms_norm_eps": CFG["eps"],
              "rope_theta": CFG["theta"], "tie_word_embeddings": False, "hidden_act": "silu"}
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f)
    tensors = [(k, tuple(v.shape), v.flatten().tolist()) for k, v in sd.items()]
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(tm.safetensors_bytes(tensors, "F32"))
    return sd


# ---- GGUF, read independently -------------------------------------------------------

GGML = {0: ("F32", 1, 4), 1: ("F16", 1, 2), 30: ("BF16", 1, 2), 8: ("Q8_0", 32, 34),
        2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20), 6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24),
        12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210)}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
          11: "<q", 12: "<d"}


def read_gguf(path):
    data = open(path, "rb").read()
    pos = 0

    def get(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = get("<Q")
        s = data[pos:pos + n].decode()
        pos += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = get("<I"), get("<Q")
            return [value(et) for _ in range(n)]
        return get(SCALAR[t])

    assert data[:4] == b"GGUF"
    pos = 4
    version, nt, nkv = get("<I"), get("<Q"), get("<Q")
    kv = {}
    for _ in range(nkv):
        k = string()
        kv[k] = value(get("<I"))
    infos = []
    for _ in range(nt):
        name = string()
        nd = get("<I")
        ne = [get("<Q") for _ in range(nd)]
        infos.append((name, ne, get("<I"), get("<Q")))
    align = kv.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, ne, t, off in infos:
        kind, blk, nbytes = GGML[t]
        n = int(np.prod(ne))
        raw = np.frombuffer(data, np.uint8, n // blk * nbytes, base + off)
        vals = dequant(kind, raw, n)
        tensors[name] = (kind, torch.from_numpy(vals.astype(np.float64)).reshape(list(reversed(ne))))
    return version, kv, tensors


def f16(b):
    return b.copy().view(np.float16).astype(np.float32)


def nibbles(qs):
    """ggml's 4-bit blocks: value j the low nibble of byte j, value j + 16 the high."""
    return np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.int32)


def fifth_bits(qh4):
    qh = qh4.copy().view("<u4")  # (nb, 1)
    return ((qh >> np.arange(32, dtype=np.uint32)) & 1).astype(np.int32)


def scale_min_k4(s):
    """get_scale_min_k4 for j = 0 .. 7 -> (sc, mn), each (nb, 8)."""
    s = s.astype(np.int32)
    sc = np.zeros((s.shape[0], 8), np.int32)
    mn = np.zeros_like(sc)
    for j in range(8):
        if j < 4:
            sc[:, j], mn[:, j] = s[:, j] & 63, s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 0xF) | ((s[:, j - 4] >> 6) << 4)
            mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, mn


def dequant(kind, raw, n):
    if kind == "F32":
        return raw.copy().view(np.float32)
    if kind == "F16":
        return f16(raw)
    if kind == "BF16":
        return (raw.copy().view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    _, blk, nbytes = next(v for v in GGML.values() if v[0] == kind)
    b = raw.reshape(-1, nbytes)
    if kind == "Q8_0":
        return (f16(b[:, :2]) * b[:, 2:].view(np.int8)).reshape(-1)
    if kind == "Q4_0":
        return (f16(b[:, :2]) * (nibbles(b[:, 2:]) - 8)).reshape(-1)
    if kind == "Q4_1":
        return (f16(b[:, :2]) * nibbles(b[:, 4:]) + f16(b[:, 2:4])).reshape(-1)
    if kind == "Q5_0":
        q = nibbles(b[:, 6:]) | (fifth_bits(b[:, 2:6]) << 4)
        return (f16(b[:, :2]) * (q - 16)).reshape(-1)
    if kind == "Q5_1":
        q = nibbles(b[:, 8:]) | (fifth_bits(b[:, 4:8]) << 4)
        return (f16(b[:, :2]) * q + f16(b[:, 2:4])).reshape(-1)
    if kind in ("Q4_K", "Q5_K"):
        d, dmin = f16(b[:, :2]), f16(b[:, 2:4])
        sc, mn = scale_min_k4(b[:, 4:16])
        qs = b[:, 48:] if kind == "Q5_K" else b[:, 16:]
        y = np.zeros((b.shape[0], 256), np.float32)
        for j in range(8):  # dequantize_row_q4_K: 64 values per pair of sub-blocks
            q = qs[:, 32 * (j // 2):32 * (j // 2) + 32].astype(np.int32)
            q = q & 15 if j % 2 == 0 else q >> 4
            if kind == "Q5_K":
                q = q + 16 * ((b[:, 16:48].astype(np.int32) >> j) & 1)
            y[:, 32 * j:32 * j + 32] = d * sc[:, j:j + 1] * q - dmin * mn[:, j:j + 1]
        return y.reshape(-1)
    if kind == "Q6_K":
        ql, qh = b[:, :128].astype(np.int32), b[:, 128:192].astype(np.int32)
        sc, d = b[:, 192:208].view(np.int8).astype(np.float32), f16(b[:, 208:210])
        y = np.zeros((b.shape[0], 256), np.float32)
        for n in (0, 128):  # dequantize_row_q6_K
            QL, QH, S = ql[:, n // 2:n // 2 + 64], qh[:, n // 4:n // 4 + 32], sc[:, n // 16:n // 16 + 8]
            for l in range(32):
                i = l // 16
                q1 = ((QL[:, l] & 0xF) | (((QH[:, l] >> 0) & 3) << 4)) - 32
                q2 = ((QL[:, l + 32] & 0xF) | (((QH[:, l] >> 2) & 3) << 4)) - 32
                q3 = ((QL[:, l] >> 4) | (((QH[:, l] >> 4) & 3) << 4)) - 32
                q4 = ((QL[:, l + 32] >> 4) | (((QH[:, l] >> 6) & 3) << 4)) - 32
                y[:, n + l] = d[:, 0] * S[:, i] * q1
                y[:, n + l + 32] = d[:, 0] * S[:, i + 2] * q2
                y[:, n + l + 64] = d[:, 0] * S[:, i + 4] * q3
                y[:, n + l + 96] = d[:, 0] * S[:, i + 6] * q4
        return y.reshape(-1)
    raise ValueError(kind)


# ---- llama.cpp's layout and forward --------------------------------------------------

def permute(w, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_of(hf, qwen2=False):
    """The GGUF name and layout of each Hugging Face tensor (llama.cpp
    permutes a llama's q and k rows, not a qwen2's)."""
    out = {"token_embd.weight": hf["model.embed_tokens.weight"],
           "output_norm.weight": hf["model.norm.weight"], "output.weight": hf["lm_head.weight"]}
    names = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
             "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
             "self_attn.o_proj.weight": "attn_output.weight",
             "post_attention_layernorm.weight": "ffn_norm.weight",
             "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
             "mlp.down_proj.weight": "ffn_down.weight", "self_attn.q_proj.bias": "attn_q.bias",
             "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias"}
    for l in range(CFG["L"]):
        for k, v in names.items():
            if "model.layers.%d.%s" % (l, k) not in hf:
                continue
            w = hf["model.layers.%d.%s" % (l, k)]
            if v == "attn_q.weight" and not qwen2:
                w = permute(w, CFG["NH"])
            elif v == "attn_k.weight" and not qwen2:
                w = permute(w, CFG["KV"])
            out["blk.%d.%s" % (l, v)] = w
    return out


def rotary_pairs(x, theta):
    """Meta's apply_rotary_emb: entries (2i, 2i+1) of a head as one complex number."""
    T, heads, hs = x.shape
    freqs = 1.0 / (theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), freqs)
    cis = torch.polar(torch.ones_like(ang), ang)
    xc = torch.view_as_complex(x.reshape(T, heads, hs // 2, 2).contiguous())
    return torch.view_as_real(xc * cis[:, None, :]).reshape(T, heads, hs)


def rotary_half(x, theta):
    """Hugging Face's rotate_half (llama.cpp's NEOX mode): entry i pairs with i + hs/2."""
    T, heads, hs = x.shape
    inv = 1.0 / (theta ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    ang = torch.cat((ang, ang), -1)[:, None, :]
    rot = torch.cat((-x[..., hs // 2:], x[..., :hs // 2]), -1)
    return x * ang.cos() + rot * ang.sin()


def forward(w, emb, qwen2=False, hiddens=None):
    """Logits and each layer's attention; hiddens, when a list, gets the
    residual stream after each layer (divergence_crosscheck.py's lens)."""
    C, nh, nkv = CFG["C"], CFG["NH"], CFG["KV"]
    hs, T = C // nh, emb.shape[0]

    def norm(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + CFG["eps"]) * g

    x = emb
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    atts = []
    for l in range(CFG["L"]):
        p = "blk.%d." % l
        h = norm(x, w[p + "attn_norm.weight"])
        rope = rotary_half if qwen2 else rotary_pairs
        q, k, v = (h @ w[p + "attn_%s.weight" % x].T + w.get(p + "attn_%s.bias" % x, 0) for x in "qkv")
        q = rope(q.reshape(T, nh, hs), CFG["theta"])
        k = rope(k.reshape(T, nkv, hs), CFG["theta"])
        v = v.reshape(T, nkv, hs)
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        att = torch.softmax(torch.einsum("thd,shd->hts", q, k) / hs ** 0.5 + mask, -1)
        atts.append(att)
        x = x + torch.einsum("hts,shd->thd", att, v).reshape(T, C) @ w[p + "attn_output.weight"].T
        h = norm(x, w[p + "ffn_norm.weight"])
        g = torch.nn.functional.silu(h @ w[p + "ffn_gate.weight"].T)
        x = x + (g * (h @ w[p + "ffn_up.weight"].T)) @ w[p + "ffn_down.weight"].T
        if hiddens is not None:
            hiddens.append(x)
    return norm(x, w["output_norm.weight"]) @ w["output.weight"].T, atts


# ---- the checks ----------------------------------------------------------------------

def lmscope(*args):
    r = subprocess.run([LMSCOPE, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("lmscope %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def want_kind(recipe, name):
    if "norm" in name or name.endswith(".bias"):
        return "F32"
    if recipe == "Q4_K_M":
        return "Q6_K" if name.endswith(("attn_v.weight", "ffn_down.weight")) or name == "output.weight" \
            else "Q4_K"
    return recipe


def check_file(recipe, path, ref, arch):
    version, kv, tensors = read_gguf(path)
    check(version == 3 and kv.get("general.architecture") == arch, "%s: header" % recipe)
    for key, want in (("embedding_length", CFG["C"]), ("block_count", CFG["L"]),
                      ("feed_forward_length", CFG["H"]), ("attention.head_count", CFG["NH"]),
                      ("attention.head_count_kv", CFG["KV"]), ("context_length", CFG["T"])):
        key = arch + "." + key
        check(kv.get(key) == want, "%s: %s = %s, want %s" % (recipe, key, kv.get(key), want))
    check(sorted(tensors) == sorted(ref), "%s: tensor names %s" % (recipe, sorted(tensors)))
    w = {}
    for name, r in ref.items():
        kind, t = tensors[name]
        check(kind == want_kind(recipe.split()[-1], name), "%s: %s stored as %s" % (recipe, name, kind))
        check(tuple(t.shape) == tuple(r.shape), "%s: %s shape %s" % (recipe, name, tuple(t.shape)))
        err = float((t - r).pow(2).mean().sqrt() / r.pow(2).mean().sqrt())
        bound = ERR[kind]
        check(err <= bound if bound else bool((t == r).all()),
              "%s: %s off the original by %.3g (bound %g)" % (recipe, name, err, bound))
        w[name] = t
    return w


def check_explain(recipe, path, w, ids, qwen2):
    V = CFG["V"]
    emb = w["token_embd.weight"][ids].clone().requires_grad_(True)
    logits, atts = forward(w, emb, qwen2)
    logp = torch.log_softmax(logits[-1], -1)
    target = int(logp.argmax())
    logp[target].backward()
    g = emb.grad
    arg = ",".join(map(str, ids))
    for method, ref in (("grad_norm", g.norm(dim=-1)), ("grad_x_input", (g * emb.detach()).sum(-1))):
        out = json.loads(lmscope("explain", path, "--ids", arg, "--json", "--top", str(V),
                                 "--method", method, "--attention"))
        got = {t["id"]: t["logprob"] for t in out["top"]}
        worst = max(abs(got[i] - float(logp[i])) / max(1.0, abs(float(logp[i]))) for i in got)
        check(len(got) == V and worst <= TOL, "%s: log-probabilities off by %.3g" % (recipe, worst))
        check(out["target"]["id"] == target, "%s: target %d, torch %d" % (recipe, out["target"]["id"], target))
        s, scale = out["saliency"]["scores"], float(ref.abs().max())
        worst = max(abs(s[j] - float(ref[j])) / scale for j in range(len(ids)))
        check(worst <= TOL, "%s: %s saliency off by %.3g" % (recipe, method, worst))
        a, ra = torch.tensor(out["attention"], dtype=torch.float64), torch.stack(atts).detach()
        check(a.shape == ra.shape and float((a - ra).abs().max()) <= TOL, "%s: attention differs" % recipe)


def main():
    torch.manual_seed(0)
    ids = torch.randint(0, CFG["V"], (CFG["T"] - 5,)).tolist()
    for qwen2, arch, types in ((False, "llama", TYPES), (True, "qwen2", QWEN2_TYPES)):
        with tempfile.TemporaryDirectory() as d:
            hf = make_model(os.path.join(d, "hf"), qwen2)
            ref = gguf_of(hf, qwen2)
            for recipe in types:
                path = os.path.join(d, "m_%s.gguf" % recipe)
                lmscope("convert", os.path.join(d, "hf"), "-o", path, "--type", recipe)
                w = check_file("%s %s" % (arch, recipe), path, ref, arch)
                for n in (1, 7, len(ids)):
                    check_explain("%s %s" % (arch, recipe), path, w, ids[:n], qwen2)
                print("%s %s: layout, values, log-probs, attention and saliency agree" % (arch, recipe))
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("gguf cross-check: all agree")


if __name__ == "__main__":
    main()
