#!/usr/bin/python3
"""Cross-check of the Llama family's Hugging Face checkpoints against
PyTorch: random-weight checkpoints written here in the exact HF layout
(config.json as LlamaConfig / MistralConfig / Qwen2Config / Qwen3Config
write it, the
state_dict names and nn.Linear (out, in) shapes of *ForCausalLM) as F32,
F16 and BF16 safetensors, one file or sharded with
model.safetensors.index.json. The forward and its autograd are written here
from HF's modeling code, in float64 on the stored values (the half and
bfloat16 weights as they round):

  - rotate_half rotary embeddings on HF's q_proj / k_proj layout;
  - rope_scaling "linear" (every inverse frequency / factor) and "llama3"
    (_compute_llama3_parameters: wavelengths above
    original_max_position_embeddings / low_freq_factor divided by factor,
    below original / high_freq_factor kept, smoothed in between);
  - Qwen2's q, k, v biases; tied and untied classifiers;
  - Qwen3's q_norm and k_norm (Qwen3Attention): an RMSNorm over each
    head's head_dim entries of q_proj's and k_proj's outputs, before the
    rotary embedding.

Compared with `lmscope explain DIR --ids ... --json --top V --attention
--method M`: every next-token log-probability (relative 1e-4), every
attention probability and both gradient saliencies (the gradient of
log p(target) by each position's token embedding), at several context
lengths, as tests/torch/llama_crosscheck.py does for llama2.c files.

Then `explain --dla` and `patch` on a BF16 model must give what they give
on its float32 conversion (interp_crosscheck.py checks that path).

Then resident memory: a BF16 checkpoint big enough for its weights to
dominate (45M parameters) is explained once, and the process's peak
resident memory (VmHWM through getrusage of the child) minus that of the
same command on a tiny model must be at most 1.2x the file; the same
model converted to F32 must take at least 0.8x the BF16 file more, which
shows that the BF16 weights were not copied out as float32.
Exit status 0 when everything agrees."""

import json
import math
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_crosscheck import DTYPES, write_safetensors  # noqa: E402
from llama_crosscheck import lmscope, rel  # noqa: E402

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-4
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


# ---- checkpoints ------------------------------------------------------------

def stored(t, dtype):
    """The value lmscope reads: rounded to the file's dtype, in float64."""
    return t.to(DTYPES[dtype if t.dim() == 2 else "F32"]).double()


def make_state(cfg, gen):
    C, H, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    KC = nkv * (C // nh)
    bias = cfg["model_type"] == "qwen2"

    def mat(o, i):
        return torch.randn(o, i, generator=gen) / math.sqrt(i)

    def vec(n, base):
        return base + 0.2 * torch.randn(n, generator=gen)

    # logits of standard deviation about 2 (tied or not): a target far from
    # probability 1, whose gradient float32 resolves
    sd = {"model.embed_tokens.weight": torch.randn(V, C, generator=gen) * (2 / math.sqrt(C))}
    for l in range(L):
        p = "model.layers.%d." % l
        sd[p + "input_layernorm.weight"] = vec(C, 1.0)
        sd[p + "self_attn.q_proj.weight"] = mat(C, C) * 1.5
        sd[p + "self_attn.k_proj.weight"] = mat(KC, C) * 1.5
        sd[p + "self_attn.v_proj.weight"] = mat(KC, C)
        if bias:
            sd[p + "self_attn.q_proj.bias"] = vec(C, 0.0)
            sd[p + "self_attn.k_proj.bias"] = vec(KC, 0.0)
            sd[p + "self_attn.v_proj.bias"] = vec(KC, 0.0)
        sd[p + "self_attn.o_proj.weight"] = mat(C, C)
        if cfg["model_type"] == "qwen3":
            sd[p + "self_attn.q_norm.weight"] = vec(C // nh, 1.0)
            sd[p + "self_attn.k_norm.weight"] = vec(C // nh, 1.0)
        sd[p + "post_attention_layernorm.weight"] = vec(C, 1.0)
        sd[p + "mlp.gate_proj.weight"] = mat(H, C)
        sd[p + "mlp.up_proj.weight"] = mat(H, C)
        sd[p + "mlp.down_proj.weight"] = mat(C, H)
    sd["model.norm.weight"] = vec(C, 1.0)
    if not cfg["tie_word_embeddings"]:
        sd["lm_head.weight"] = mat(V, C) * 2
    return sd


def save(cfg, sd, d, dtype, shards=1):
    os.makedirs(d)
    cfg = dict(cfg, torch_dtype={"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype])
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    if shards == 1:
        return write_safetensors(sd, os.path.join(d, "model.safetensors"), dtype)
    names = list(sd)
    per = (len(names) + shards - 1) // shards
    wmap, total = {}, 0
    for s in range(shards):
        fname = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        part = {n: sd[n] for n in names[s * per:(s + 1) * per]}
        total += write_safetensors(part, os.path.join(d, fname), dtype)
        wmap.update({n: fname for n in part})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": wmap}, f, indent=2)
    return total


# ---- Hugging Face's forward -------------------------------------------------

def inv_freq(cfg, hs):
    """LlamaRotaryEmbedding's inverse frequencies with rope_scaling."""
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    rs = cfg.get("rope_scaling")
    if not rs:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    assert kind == "llama3"
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_l)


def hf_forward(cfg, sd, emb):
    """emb (T, C) -> logits (T, V), attention [L] of (heads, T, T), in
    emb's dtype (float64 here; bench's torch_hfllama.py runs float32)."""
    C, L = cfg["hidden_size"], cfg["num_hidden_layers"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hs, T, eps = C // nh, emb.shape[0], cfg["rms_norm_eps"]
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq(cfg, hs))
    ang = torch.cat((ang, ang), -1)[:, None, :]
    cos, sin = ang.cos().to(emb.dtype), ang.sin().to(emb.dtype)

    def rot_half(x):
        return torch.cat((-x[..., hs // 2:], x[..., :hs // 2]), -1)

    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def lin(x, name):
        y = x @ sd[name + ".weight"].T
        return y + sd[name + ".bias"] if name + ".bias" in sd else y

    x = emb
    mask = torch.full((T, T), float("-inf"), dtype=emb.dtype).triu(1)
    atts = []
    for l in range(L):
        p = "model.layers.%d." % l
        h = norm(x, sd[p + "input_layernorm.weight"])
        q = lin(h, p + "self_attn.q_proj").reshape(T, nh, hs)
        k = lin(h, p + "self_attn.k_proj").reshape(T, nkv, hs)
        v = lin(h, p + "self_attn.v_proj").reshape(T, nkv, hs)
        if p + "self_attn.q_norm.weight" in sd:  # Qwen3: per head, before rotary
            q = norm(q, sd[p + "self_attn.q_norm.weight"])
            k = norm(k, sd[p + "self_attn.k_norm.weight"])
        q = q * cos + rot_half(q) * sin
        k = k * cos + rot_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        att = torch.softmax(torch.einsum("thd,shd->hts", q, k) / hs ** 0.5 + mask, -1)
        atts.append(att)
        x = x + lin(torch.einsum("hts,shd->thd", att, v).reshape(T, C), p + "self_attn.o_proj")
        h = norm(x, sd[p + "post_attention_layernorm.weight"])
        g = torch.nn.functional.silu(lin(h, p + "mlp.gate_proj"))
        x = x + lin(g * lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = norm(x, sd["model.norm.weight"])
    head = sd["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else sd["lm_head.weight"]
    return x @ head.T, atts


# ---- comparisons --------------------------------------------------------------

def check_explain(name, d, cfg, sd, ids):
    V, n = cfg["vocab_size"], len(ids)
    emb = sd["model.embed_tokens.weight"][ids].clone().requires_grad_(True)
    logits, atts = hf_forward(cfg, sd, emb)
    logp = torch.log_softmax(logits[-1], -1)
    target = int(logp.argmax())
    logp[target].backward()
    g = emb.grad
    refs = {"grad_norm": g.norm(dim=-1), "grad_x_input": (g * emb.detach()).sum(-1)}
    for method, ref in refs.items():
        out = lmscope("explain", d, "--ids", ",".join(map(str, ids)), "--json", "--top", str(V),
                      "--method", method, "--attention", "--no-faithfulness")
        got = {t["id"]: t["logprob"] for t in out["top"]}
        what = "%s T=%d" % (name, n)
        check(len(got) == V, "%s: %d of %d tokens listed" % (what, len(got), V))
        worst = max(rel(got[i], float(logp[i])) for i in got)
        check(worst <= TOL, "%s: log-probabilities off by %.3g" % (what, worst))
        check(out["target"]["id"] == target, "%s: target %d, torch %d" % (what, out["target"]["id"], target))
        s = out["saliency"]["scores"]
        scale = float(ref.abs().max())
        worst = max(abs(s[j] - float(ref[j])) / max(scale, 1e-12) for j in range(n))
        check(worst <= TOL, "%s: %s saliency off by %.3g (of the largest)" % (what, method, worst))
        a = torch.tensor(out["attention"], dtype=torch.float64)
        ref_att = torch.stack([x.detach() for x in atts])
        check(a.shape == ref_att.shape, "%s: attention shape %s, torch %s"
              % (what, tuple(a.shape), tuple(ref_att.shape)))
        if a.shape == ref_att.shape:
            err = float((a - ref_att).abs().max())
            check(err <= TOL, "%s: attention off by %.3g" % (what, err))


BASE = {"vocab_size": 97, "hidden_size": 48, "intermediate_size": 80, "num_hidden_layers": 2,
        "num_attention_heads": 6, "num_key_value_heads": 2, "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu"}

VARIANTS = [
    ("llama untied, llama3 rope", dict(BASE, model_type="llama", architectures=["LlamaForCausalLM"],
     tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
     rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 32})),
    ("llama tied, linear rope", dict(BASE, model_type="llama", architectures=["LlamaForCausalLM"],
     tie_word_embeddings=True, rope_scaling={"type": "linear", "factor": 2.0})),
    ("mistral", dict(BASE, model_type="mistral", architectures=["MistralForCausalLM"],
     tie_word_embeddings=False, sliding_window=None, head_dim=8)),
    ("qwen2", dict(BASE, model_type="qwen2", architectures=["Qwen2ForCausalLM"],
     tie_word_embeddings=True, use_sliding_window=False, sliding_window=4096,
     max_window_layers=2, rope_theta=1000000.0)),
    ("qwen3 tied", dict(BASE, model_type="qwen3", architectures=["Qwen3ForCausalLM"],
     tie_word_embeddings=True, attention_bias=False, head_dim=8, use_sliding_window=False,
     sliding_window=None, max_window_layers=2, rope_theta=1000000.0, rope_scaling=None)),
    ("qwen3 untied", dict(BASE, model_type="qwen3", architectures=["Qwen3ForCausalLM"],
     tie_word_embeddings=False, attention_bias=False, head_dim=8, use_sliding_window=False,
     sliding_window=4096, max_window_layers=2, rope_theta=1000000.0)),
]


def check_info(d, cfg):
    """`lmscope info` names the family as config.json does (mistral is
    read as llama, the architecture it is)."""
    r = subprocess.run([LMSCOPE, "info", d], capture_output=True, text=True)
    want = {"mistral": "llama"}.get(cfg["model_type"], cfg["model_type"])
    line = [l for l in r.stdout.splitlines() if l.startswith("architecture:")]
    check(r.returncode == 0 and line == ["architecture: " + want],
          "info %s: %r, want architecture: %s" % (d, line, want))


def check_variants(tmp):
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, BASE["vocab_size"], (24,), generator=gen).tolist()
    for name, cfg in VARIANTS:
        sd = make_state(cfg, gen)
        for dtype in ("F32", "F16", "BF16"):
            for shards in (1, 3):
                if shards > 1 and dtype == "F16":
                    continue
                d = os.path.join(tmp, "%s-%s-%d" % (name.split()[0], dtype, shards)).replace(",", "")
                d += "-" + str(len(os.listdir(tmp)))
                save(cfg, sd, d, dtype, shards)
                check_info(d, cfg)
                ref = {k: stored(v, dtype) for k, v in sd.items()}
                for n in (1, 3, 7, 24):
                    check_explain("%s %s%s" % (name, dtype, " sharded" if shards > 1 else ""),
                                  d, cfg, ref, ids[:n])
        print("%s: log-probs, attention and saliency agree (F32, F16, BF16, sharded)" % name)


def check_split(tmp):
    """A BF16 model wide enough that its products and its unembedding are
    split over two cores (nn/blas.c lms_split, the one-row logits in two
    passes): the same log-probabilities, saliency and attention as PyTorch.
    lmscope runs with each product's threads by its size, the default when
    no thread count is set."""
    cfg = dict(VARIANTS[1][1], vocab_size=4096, hidden_size=512, intermediate_size=2048,
               num_hidden_layers=1, num_attention_heads=8, num_key_value_heads=4)
    gen = torch.Generator().manual_seed(3)
    sd = make_state(cfg, gen)
    d = os.path.join(tmp, "wide-bf16")
    save(cfg, sd, d, "BF16")
    ref = {k: stored(v, "BF16") for k, v in sd.items()}
    ids = torch.randint(0, cfg["vocab_size"], (24,), generator=gen).tolist()
    saved = {k: os.environ.pop(k) for k in ("LMSCOPE_THREADS", "OPENBLAS_NUM_THREADS") if k in os.environ}
    try:
        for n in (1, 7, 24):
            check_explain("wide BF16 (split products)", d, cfg, ref, ids[:n])
    finally:
        os.environ.update(saved)
    print("wide BF16: log-probs, attention and saliency agree with products split over two cores")


# ---- resident memory ------------------------------------------------------------

def measure(*args):
    """Peak resident set size (bytes) of one lmscope run. A fresh small
    Python runs it and reads its children's peak: the peak survives exec,
    so a child forked from this process (torch loaded) would report this
    process's size."""
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe, LMSCOPE, *args], capture_output=True,
                         text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    code, kib = map(int, out.stdout.split())
    if code != 0:
        sys.exit("lmscope %s failed (%d): %s" % (" ".join(args), code, out.stderr))
    return kib * 1024


def check_memory(tmp):
    gen = torch.Generator().manual_seed(1)
    cfg = dict(BASE, model_type="llama", vocab_size=32000, hidden_size=512, intermediate_size=1376,
               num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4,
               max_position_embeddings=128, tie_word_embeddings=False)
    sd = make_state(cfg, gen)
    big = os.path.join(tmp, "big-bf16")
    size = save(cfg, sd, big, "BF16")
    f32 = os.path.join(tmp, "big-f32")
    r = subprocess.run([LMSCOPE, "convert", big, "-o", f32], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("lmscope convert failed: " + r.stderr)
    tiny = os.path.join(tmp, "tiny")
    save(dict(cfg, vocab_size=97, hidden_size=48, intermediate_size=80, num_attention_heads=6,
              num_key_value_heads=2), make_state(dict(cfg, vocab_size=97, hidden_size=48,
              intermediate_size=80, num_attention_heads=6, num_key_value_heads=2), gen), tiny, "BF16")
    args = ["--ids", "1,2,3,4,5,6,7,8", "--json", "--no-faithfulness"]
    base = measure("explain", tiny, *args)
    bf16 = measure("explain", big, *args)
    full = measure("explain", f32, *args)
    mib = 1024.0 * 1024.0
    print("resident memory: file %.1f MiB; BF16 run %.1f MiB, F32 run %.1f MiB, tiny model %.1f MiB"
          % (size / mib, bf16 / mib, full / mib, base / mib))
    check(bf16 - base <= 1.2 * size, "BF16 model takes %.1f MiB above the tiny one, more than 1.2x its "
          "%.1f MiB file" % ((bf16 - base) / mib, size / mib))
    check(full - bf16 >= 0.8 * size, "the F32 copy takes only %.1f MiB more than the BF16 model: "
          "were the BF16 weights converted?" % ((full - bf16) / mib))


def flat(x):
    """Every number in a JSON value, in order."""
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in flat(x[k])]
    if isinstance(x, list):
        return [v for e in x for v in flat(e)]
    return [x] if isinstance(x, (int, float)) and not isinstance(x, bool) else []


def check_interp(tmp, name, cfg):
    """Direct logit attribution and activation patching read the
    unembedding and o_proj as stored: on a BF16 model they give what they
    give on its float32 conversion (the same values; tests/torch/
    interp_crosscheck.py checks the float32 path against PyTorch). The
    conversion writes config.json back, so this also reopens the model type
    lmscope saved."""
    gen = torch.Generator().manual_seed(2)
    d16, d32 = os.path.join(tmp, name + "-interp-bf16"), os.path.join(tmp, name + "-interp-f32")
    save(cfg, make_state(cfg, gen), d16, "BF16")
    r = subprocess.run([LMSCOPE, "convert", d16, "-o", d32], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("lmscope convert failed: " + r.stderr)
    with open(os.path.join(d32, "config.json")) as f:
        saved = json.load(f)["model_type"]
    check(saved == cfg["model_type"], "%s converted: model_type %s" % (name, saved))
    runs = (["explain", "--ids", "1,2,3,4,5,6", "--dla", "--json", "--no-faithfulness"],
            ["patch", "--ids-clean", "1,2,3,4,5,6", "--ids-corrupt", "1,2,9,4,5,6", "--json"])
    for args in runs:
        a = lmscope(args[0], d16, *args[1:])
        b = lmscope(args[0], d32, *args[1:])
        a, b = (a["dla"], b["dla"]) if args[0] == "explain" else (a, b)
        fa, fb = flat(a), flat(b)
        scale = max(1.0, max(abs(v) for v in fb))
        worst = max(abs(x - y) for x, y in zip(fa, fb)) / scale if len(fa) == len(fb) else float("inf")
        check(worst <= TOL, "%s: %s on BF16 differs from its F32 copy by %.3g" % (name, args[0], worst))
    print("%s: direct logit attribution and patching: BF16 model = its F32 copy" % name)


def check_qwen3_gguf_refused(tmp):
    """GGUF output has no q_norm / k_norm: a qwen3 model is refused in one
    line rather than written without them."""
    cfg = VARIANTS[4][1]
    d = os.path.join(tmp, "qwen3-gguf")
    save(cfg, make_state(cfg, torch.Generator().manual_seed(3)), d, "F32")
    out = os.path.join(tmp, "qwen3.gguf")
    r = subprocess.run([LMSCOPE, "convert", d, "-o", out], capture_output=True, text=True)
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0 and len(lines) == 1 and "q_norm" in lines[0] and not os.path.exists(out),
          "qwen3 GGUF output: exit %d, %r" % (r.returncode, r.stderr))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_variants(tmp)
        check_split(tmp)
        check_interp(tmp, "qwen2", VARIANTS[3][1])
        check_interp(tmp, "qwen3", VARIANTS[4][1])
        check_qwen3_gguf_refused(tmp)
        check_memory(tmp)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("Hugging Face Llama-family cross-check: all agree")


if __name__ == "__main__":
    main()
