#!/usr/bin/python3
"""Cross-check of one training update of lmscope's GPT-2 with dropout
against the same update written out in PyTorch.

A tiny word-level GPT-2 is trained for one step by lmscope with
`--dropout 0.3`, from weights written here (`--init`, values of order 1
so that every mask changes the loss), with the learning rate, weight
decay and clipping at 0 and one sequence a batch on a corpus that holds
exactly one sequence. LMSCOPE_DROPOUT_MASKS makes lmscope write the
masks it drew for that update (one per site: the embedding sum, then
each layer's attention branch and MLP branch). Then

  loss      train_loss of logs/train.csv's first row
  gradient  the AdamW first moment in checkpoint/optimizer.safetensors,
            m = (1 - beta1) g after one step from 0, so g = m / 0.1

are compared with PyTorch autograd in float64 on the same float32 weights
and tokens, applying the same masks as inverted dropout (kept units times
1 / (1 - p), as float32 computes it). Relative error <= 1e-4 (the
gradient: relative to 1% of its largest entry, as the finite-difference
checks do). The same computation without the masks must disagree with
lmscope's loss by far more than that, or the check would not see them.
Exit status 0 when everything agrees."""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_crosscheck as ref  # noqa: E402  (weights, layer_norm, gelu_tanh, write_safetensors)

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-4
P_DROP = 0.3
T, C, NH, L = 12, 16, 2, 2
BETA1 = np.float32(0.9)

CORPUS = "and in the beginning was the word and the word was with god\n"  # T + 1 words
VALID = "the word was god\n"


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, h in head.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", (name, h["dtype"])
        b, e = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").copy()).reshape(h["shape"])
    return out


def tensor_order(V):
    """lmscope's packed parameter order (arch/gpt2.c): each kind of tensor
    for every layer before the next kind."""
    kinds = ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
             "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
             "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]
    names = ["wte.weight", "wpe.weight"]
    names += [f"h.{l}.{k}" for k in kinds for l in range(L)]
    return names + ["ln_f.weight", "ln_f.bias"]


def forward(w, x, y, masks, scale):
    """Mean next-token cross-entropy of one sequence, with inverted dropout
    where masks[s] (T, C) is given: site 0 the embedding sum, 1 + 2l layer
    l's attention branch after c_proj, 2 + 2l its MLP branch after c_proj."""
    def drop(s, v):
        return v if masks is None else v * masks[s] * scale

    n, hs = len(x), C // NH
    h = drop(0, w["wte.weight"][x] + w["wpe.weight"][:n])
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    for l in range(L):
        p = lambda name: w[f"h.{l}.{name}"]
        a = ref.layer_norm(h, p("ln_1.weight"), p("ln_1.bias"))
        qkv = a @ p("attn.c_attn.weight") + p("attn.c_attn.bias")
        q, k, v = (t.reshape(n, NH, hs).transpose(0, 1) for t in qkv.split(C, dim=-1))
        att = torch.softmax(((q @ k.transpose(1, 2)) / hs ** 0.5).masked_fill(~causal, float("-inf")),
                            dim=-1)
        o = (att @ v).transpose(0, 1).reshape(n, C)
        h = h + drop(1 + 2 * l, o @ p("attn.c_proj.weight") + p("attn.c_proj.bias"))
        m = ref.layer_norm(h, p("ln_2.weight"), p("ln_2.bias"))
        f = ref.gelu_tanh(m @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias"))
        h = h + drop(2 + 2 * l, f @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias"))
    h = ref.layer_norm(h, w["ln_f.weight"], w["ln_f.bias"])
    logits = h @ w["wte.weight"].T
    return torch.nn.functional.cross_entropy(logits, torch.tensor(y))


def run(args, env=None):
    res = subprocess.run([LMSCOPE] + args, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"dropout_crosscheck: lmscope {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout


def main():
    if not os.access(LMSCOPE, os.X_OK):
        print(f"dropout_crosscheck: {LMSCOPE} is not built")
        return 1
    tmp = tempfile.mkdtemp(prefix="lmscope-dropout-")
    try:
        return check(tmp)
    finally:
        shutil.rmtree(tmp)


def check(tmp):
    corpus, valid = os.path.join(tmp, "corpus.txt"), os.path.join(tmp, "valid.txt")
    with open(corpus, "w") as f:
        f.write(CORPUS)
    with open(valid, "w") as f:
        f.write(VALID)
    base, out = os.path.join(tmp, "base"), os.path.join(tmp, "out")
    masks_path = os.path.join(tmp, "masks.safetensors")
    common = [corpus, "--valid", valid, "--context", str(T), "--batch", "1", "--steps", "1"]
    # a model directory with this corpus's tokenizer; its weights are replaced
    run(["train"] + common + ["-o", base, "--layers", str(L), "--heads", str(NH),
                              "--embd", str(C)])
    with open(os.path.join(base, "config.json")) as f:
        V = json.load(f)["vocab_size"]
    w = ref.make_weights(20261207, V=V, P=T, C=C, L=L)
    shutil.rmtree(os.path.join(base, "checkpoint"), ignore_errors=True)
    ref.write_safetensors(w, os.path.join(base, "model.safetensors"))
    env = dict(os.environ, LMSCOPE_DROPOUT_MASKS=masks_path)
    run(["train"] + common + ["--init", base, "-o", out, "--lr", "0", "--warmup", "0",
                              "--clip", "0", "--weight-decay", "0", "--dropout", str(P_DROP),
                              "--seed", "5", "--log-every", "1"], env)

    ids = [int(line.split("\t")[0]) for line in run(["tokenize", base, corpus]).splitlines()]
    if len(ids) != T + 1:
        print(f"dropout_crosscheck: the corpus is {len(ids)} tokens, not {T + 1}")
        return 1
    x, y = ids[:T], ids[1:]
    masks = read_safetensors(masks_path)
    if sorted(masks) != sorted(f"site.{s}" for s in range(1 + 2 * L)):
        print(f"dropout_crosscheck: mask sites {sorted(masks)}")
        return 1
    masks = [masks[f"site.{s}"].reshape(T, C).double() for s in range(1 + 2 * L)]
    kept = sum(float(m.sum()) for m in masks) / (len(masks) * T * C)
    if not 0.55 < kept < 0.85:  # 960 units at p = 0.3: 0.70 +- 0.015
        print(f"dropout_crosscheck: {kept:.3f} of the units kept at p {P_DROP}")
        return 1
    scale = float(np.float32(1) / (np.float32(1) - np.float32(P_DROP)))

    with open(os.path.join(out, "logs", "train.csv")) as f:
        row = f.read().splitlines()[1].split(",")
    lms_loss = float(row[2])
    m = read_safetensors(os.path.join(out, "checkpoint", "optimizer.safetensors"))["m"]
    lms_grad = m.double() / float(np.float32(1) - BETA1)
    after = read_safetensors(os.path.join(out, "checkpoint", "model.safetensors"))

    w64 = {k: v.double().requires_grad_() for k, v in w.items()}
    loss = forward(w64, x, y, masks, scale)
    loss.backward()
    with torch.no_grad():
        plain = float(forward(w64, x, y, None, 1.0))

    failures = 0
    err = abs(lms_loss - float(loss)) / abs(float(loss))
    print(f"dropout_crosscheck: loss lmscope {lms_loss:.6f} torch {float(loss):.6f} "
          f"(relative error {err:.1e}); without the masks torch gives {plain:.6f}")
    if err > TOL:
        failures += 1
    if abs(plain - float(loss)) < 100 * TOL * abs(float(loss)):
        print("dropout_crosscheck: the masks hardly change the loss; the check would not see them")
        failures += 1
    names = tensor_order(V)
    grad = torch.cat([w64[k].grad.reshape(-1) for k in names])
    if grad.numel() != lms_grad.numel():
        print(f"dropout_crosscheck: {lms_grad.numel()} gradient entries, torch {grad.numel()}")
        return 1
    floor = 1e-2 * float(grad.abs().max())
    off = 0
    worst = 0.0
    for k in names:
        n = w64[k].numel()
        a, b = lms_grad[off:off + n], w64[k].grad.reshape(-1)
        e = float(((a - b).abs() / torch.maximum(torch.maximum(a.abs(), b.abs()),
                                                  torch.tensor(floor))).max())
        worst = max(worst, e)
        if e > TOL:
            print(f"  MISMATCH gradient of {k}: relative error {e:.2e}")
            failures += 1
        if not torch.equal(after[k].reshape(-1), w[k].reshape(-1)):
            print(f"  {k} changed at --lr 0")
            failures += 1
        off += n
    print(f"dropout_crosscheck: worst gradient error {worst:.1e} (relative; tolerance {TOL:g})")
    if failures:
        print(f"dropout_crosscheck: {failures} mismatches")
        return 1
    print("dropout_crosscheck: lmscope agrees with PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
