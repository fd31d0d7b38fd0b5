#!/usr/bin/python3
"""Cross-check of lmscope's GPT-2 against a GPT-2 written out in PyTorch.

A tiny GPT-2 (learned positions, pre-LayerNorm blocks, causal multi-head
attention, tanh GELU, final LayerNorm, head tied to wte) is defined here
as plain tensor code, given random weights, and saved twice as a Hugging
Face model directory (config.json + model.safetensors, the file written
here byte by byte):

  plain/  the GPT2Model names (wte.weight, h.0.attn.c_attn.weight, ...)
  hub/    the GPT2LMHeadModel layout: a "transformer." prefix, the causal
          mask buffers h.N.attn.bias, a tied lm_head.weight and HF's full
          config.json

For several inputs it runs

    $LMSCOPE explain DIR --ids ... --json --attention --top V [--method M]
                         [--target-id T] [--contrast-id B]

and compares with torch autograd on the same float32 weights evaluated in
float64: every next-token log-probability, the target, every attention
probability, the logit lens (--lens: each block's residual stream at the
last position through ln_f and wte), and the saliency (grad_norm and grad_x_input of the gradient
of log p(target), or of log p(target) - log p(contrast), with respect to
each input position's token embedding vector). Relative error <= 1e-4
throughout (attention probabilities: absolute 1e-5, they are <= 1).
Exit status 0 when everything agrees."""

import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import torch

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-4
ATT_TOL = 1e-5

# the tiny model: vocabulary, context, width, heads, layers
V, P, C, NH, L = 23, 12, 16, 4, 2
EPS = 1e-5


def make_weights(seed, V=V, P=P, C=C, L=L):
    """HF GPT-2 tensors (Conv1D weights stored (in, out)), float32, with
    values large enough that attention is far from uniform; this file's
    shape unless others are given."""
    g = torch.Generator().manual_seed(seed)

    def normal(*shape, std):
        return torch.randn(*shape, generator=g) * std

    w = {"wte.weight": normal(V, C, std=0.5), "wpe.weight": normal(P, C, std=0.3)}
    for l in range(L):
        h = f"h.{l}."
        w[h + "ln_1.weight"] = 1.0 + normal(C, std=0.2)
        w[h + "ln_1.bias"] = normal(C, std=0.2)
        w[h + "attn.c_attn.weight"] = normal(C, 3 * C, std=0.4)
        w[h + "attn.c_attn.bias"] = normal(3 * C, std=0.2)
        w[h + "attn.c_proj.weight"] = normal(C, C, std=0.3)
        w[h + "attn.c_proj.bias"] = normal(C, std=0.1)
        w[h + "ln_2.weight"] = 1.0 + normal(C, std=0.2)
        w[h + "ln_2.bias"] = normal(C, std=0.2)
        w[h + "mlp.c_fc.weight"] = normal(C, 4 * C, std=0.3)
        w[h + "mlp.c_fc.bias"] = normal(4 * C, std=0.2)
        w[h + "mlp.c_proj.weight"] = normal(4 * C, C, std=0.2)
        w[h + "mlp.c_proj.bias"] = normal(C, std=0.1)
    w["ln_f.weight"] = 1.0 + normal(C, std=0.2)
    w["ln_f.bias"] = normal(C, std=0.2)
    return w


# ---- the model, as tensor code ------------------------------------------------

def layer_norm(x, w, b):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + EPS) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2(w, e, residuals=None):
    """e: (n, C) token embedding rows. Returns the logits (n, V) and every
    layer's attention probabilities, (L, NH, n, n); appends the residual
    stream after each block (n, C) to the list residuals when given."""
    n, hs = e.shape[0], C // NH
    x = e + w["wpe.weight"][:n]
    mask = torch.ones(n, n, dtype=torch.bool).tril()
    atts = []
    for l in range(L):
        p = lambda name: w[f"h.{l}.{name}"]
        a = layer_norm(x, p("ln_1.weight"), p("ln_1.bias"))
        qkv = a @ p("attn.c_attn.weight") + p("attn.c_attn.bias")
        q, k, v = (t.reshape(n, NH, hs).transpose(0, 1) for t in qkv.split(C, dim=-1))
        scores = (q @ k.transpose(1, 2)) / math.sqrt(hs)
        att = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        atts.append(att)
        y = (att @ v).transpose(0, 1).reshape(n, C)
        x = x + y @ p("attn.c_proj.weight") + p("attn.c_proj.bias")
        m = layer_norm(x, p("ln_2.weight"), p("ln_2.bias"))
        f = gelu_tanh(m @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias"))
        x = x + f @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias")
        if residuals is not None:
            residuals.append(x)
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
    return x @ w["wte.weight"].T, torch.stack(atts)


# ---- model directories ----------------------------------------------------------

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def write_safetensors(tensors, path, dtype="F32"):
    """8-byte little-endian header length, a JSON header giving each
    tensor's dtype, shape and byte range [begin, end) within the data that
    follows, then the raw little-endian data. Matrices are written as dtype
    (F32, F16 or BF16), 1-D tensors as F32, as Hugging Face checkpoints
    often mix them. Returns the data's size in bytes."""
    header, chunks, pos = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        dt = dtype if t.dim() == 2 else "F32"
        x = t.detach().contiguous().to(DTYPES[dt])
        if dt == "BF16":  # numpy has no bfloat16: its bits as int16
            x = x.view(torch.int16)
        raw = x.numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [pos, pos + len(raw)]}
        chunks.append(raw)
        pos += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(chunks))
    return pos


def save_plain(w, d):
    os.makedirs(d)
    config = {"model_type": "gpt2", "vocab_size": V, "n_positions": P, "n_embd": C,
              "n_layer": L, "n_head": NH, "layer_norm_epsilon": EPS}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f)
    write_safetensors(w, os.path.join(d, "model.safetensors"))


def save_hub(w, d):
    """As GPT2LMHeadModel's state_dict has it, with HF's whole config."""
    os.makedirs(d)
    config = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
              "attn_pdrop": 0.1, "bos_token_id": V - 1, "embd_pdrop": 0.1, "eos_token_id": V - 1,
              "initializer_range": 0.02, "layer_norm_epsilon": EPS, "model_type": "gpt2",
              "n_ctx": P, "n_embd": C, "n_head": NH, "n_inner": None, "n_layer": L,
              "n_positions": P, "resid_pdrop": 0.1, "summary_activation": None,
              "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
              "summary_type": "cls_index", "summary_use_proj": True,
              "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
              "torch_dtype": "float32", "vocab_size": V}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    t = {}
    for name, x in w.items():
        t["transformer." + name] = x
        if name.endswith("ln_1.weight"):  # the causal-mask buffer of that layer
            t["transformer." + name.replace("ln_1.weight", "attn.bias")] = \
                torch.ones(P, P).tril().reshape(1, 1, P, P)
    t["lm_head.weight"] = w["wte.weight"]
    write_safetensors(t, os.path.join(d, "model.safetensors"))


# ---- comparison -------------------------------------------------------------------

class Report:
    def __init__(self):
        self.failures = []
        self.worst = {}

    def rel(self, kind, label, got, want, floor=0.0):
        """Relative error; floor is the size of the terms a value sums (a sum
        of terms of both signs is only as accurate as its terms)."""
        err = abs(got - want) / max(abs(got), abs(want), floor, 1e-30)
        self.note(kind, label, err, TOL, got, want)

    def abs(self, kind, label, got, want):
        self.note(kind, label, abs(got - want), ATT_TOL, got, want)

    def note(self, kind, label, err, tol, got, want):
        self.worst[kind] = max(self.worst.get(kind, 0.0), err)
        if err > tol:
            self.failures.append(label)
            if len(self.failures) <= 20:
                print(f"  MISMATCH {label}: lmscope {got:.9g} torch {want:.9g} (error {err:.2e})")

    def fail(self, label, msg):
        self.failures.append(label)
        print(f"  MISMATCH {label}: {msg}")


def explain(rep, model_dir, ids, extra):
    cmd = [LMSCOPE, "explain", model_dir, "--ids", ",".join(map(str, ids)), "--json",
           "--attention", "--top", str(V)] + extra
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        rep.fail(" ".join(cmd), f"exit status {res.returncode}: {res.stderr.strip()}")
        return None
    return json.loads(res.stdout)


def crosscheck(rep, w64, model_dir, ids, target, contrast):
    e = w64["wte.weight"][torch.tensor(ids)].clone().requires_grad_(True)
    logits, att = gpt2(w64, e)
    logp = torch.log_softmax(logits[-1], dim=-1)
    t = int(logp.argmax()) if target is None else target
    objective = logp[t] - (logp[contrast] if contrast is not None else 0.0)
    grad, = torch.autograd.grad(objective, e)
    gx = grad * e
    want = {"grad_norm": (grad.norm(dim=-1), torch.zeros(len(ids))),
            "grad_x_input": (gx.sum(-1), gx.abs().sum(-1))}
    extra = [] if target is None else ["--target-id", str(target)]
    if contrast is not None:
        extra += ["--contrast-id", str(contrast)]
    tag = f"{os.path.basename(model_dir)} ids={ids} target={t}" + \
        ("" if contrast is None else f" contrast={contrast}")
    for method, (scores, floors) in want.items():
        out = explain(rep, model_dir, ids, extra + ["--method", method])
        if out is None:
            continue
        if out["ids"] != ids or out["target"]["id"] != t:
            rep.fail(tag, f"ids {out['ids']}, target {out['target']['id']}")
            continue
        # every next-token log-probability, and the ranking
        got = {x["id"]: x["logprob"] for x in out["top"]}
        if len(got) != V:
            rep.fail(tag, f"{len(got)} tokens in top, want {V}")
        for k, lp in got.items():
            rep.rel("logprob", f"{tag} logprob[{k}]", lp, float(logp[k]))
            rep.rel("prob", f"{tag} prob[{k}]", [x["prob"] for x in out["top"] if x["id"] == k][0],
                    math.exp(float(logp[k])))
        order = [x["id"] for x in out["top"]]
        if order[0] != int(logp.argmax()):
            rep.fail(tag, f"most probable {order[0]}, torch {int(logp.argmax())}")
        rep.rel("logprob", f"{tag} target logprob", out["target"]["logprob"], float(logp[t]))
        # attention [layer][head][query][key]
        a = out.get("attention")
        if not a or len(a) != L or len(a[0]) != NH or len(a[0][0]) != len(ids):
            rep.fail(tag, "attention missing or misshapen")
        else:
            for l in range(L):
                for h in range(NH):
                    for i in range(len(ids)):
                        for j in range(len(ids)):
                            rep.abs("attention", f"{tag} att[{l}][{h}][{i}][{j}]", a[l][h][i][j],
                                    float(att[l, h, i, j]))
        # saliency
        s = out["saliency"]
        if s["method"] != method or len(s["scores"]) != len(ids):
            rep.fail(tag, f"saliency {s}")
            continue
        for j in range(len(ids)):
            rep.rel(method, f"{tag} {method}[{j}]", s["scores"][j], float(scores[j]), float(floors[j]))
    lens_check(rep, w64, model_dir, ids, t, extra, tag)


def lens_check(rep, w64, model_dir, ids, t, extra, tag):
    """explain --lens: each block's residual stream at the last position
    through the final LayerNorm and wte, every token's probability (all V
    listed), the target's probability and its rank (1 + the tokens more
    probable)."""
    res = []
    with torch.no_grad():
        gpt2(w64, w64["wte.weight"][torch.tensor(ids)], res)
    out = explain(rep, model_dir, ids, extra + ["--lens", "--method", "grad_norm"])
    if out is None:
        return
    lens = out.get("lens")
    if not lens or lens["position"] != len(ids) - 1 or len(lens["layers"]) != L:
        rep.fail(tag, f"lens missing or misshapen: {lens}")
        return
    for l, got in enumerate(lens["layers"]):
        x = layer_norm(res[l][-1], w64["ln_f.weight"], w64["ln_f.bias"])
        p = torch.softmax(x @ w64["wte.weight"].T, dim=-1)
        if len(got["top"]) != V or [c["id"] for c in got["top"]] != p.argsort(descending=True).tolist():
            rep.fail(tag, f"lens layer {l}: order {[c['id'] for c in got['top']]}")
        for c in got["top"]:
            rep.rel("lens", f"{tag} lens[{l}] p[{c['id']}]", c["prob"], float(p[c["id"]]))
        rep.rel("lens", f"{tag} lens[{l}] p(target)", got["target"]["prob"], float(p[t]))
        rank = 1 + int((p > p[t]).sum())
        if got["target"]["rank"] != rank:
            rep.fail(tag, f"lens layer {l}: target rank {got['target']['rank']}, torch {rank}")


def main():
    if not os.access(LMSCOPE, os.X_OK):
        print(f"gpt2_crosscheck: {LMSCOPE} is not built")
        return 1
    w = make_weights(20261128)
    w64 = {k: v.double() for k, v in w.items()}
    rep = Report()
    tmp = tempfile.mkdtemp(prefix="lmscope-gpt2-")
    try:
        dirs = [os.path.join(tmp, "plain"), os.path.join(tmp, "hub")]
        save_plain(w, dirs[0])
        save_hub(w, dirs[1])
        cases = [([5], None, None),
                 ([3, 1, 4, 1, 5, 9, 2], None, None),
                 ([3, 1, 4, 1, 5, 9, 2], 7, None),
                 ([3, 1, 4, 1, 5, 9, 2], 7, 11),
                 (list(range(V - 1, V - 1 - P, -1)), None, None)]  # the full context
        for d in dirs:
            for ids, target, contrast in cases:
                crosscheck(rep, w64, d, ids, target, contrast)
    finally:
        shutil.rmtree(tmp)
    print("gpt2_crosscheck: worst error " +
          ", ".join(f"{k} {v:.1e}" for k, v in sorted(rep.worst.items())) +
          f" (relative; attention absolute; tolerance {TOL:g} / {ATT_TOL:g})")
    if rep.failures:
        print(f"gpt2_crosscheck: {len(rep.failures)} mismatches")
        return 1
    print("gpt2_crosscheck: lmscope agrees with PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
