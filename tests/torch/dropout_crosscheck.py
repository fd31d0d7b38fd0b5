#!/usr/bin/python3
"""Cross-check of one training update with dropout, of lmscope's GPT-2 and
of its LSTM, against the same update written out in PyTorch.

A tiny word-level GPT-2 (then LSTM) is trained for one step by lmscope with
`--dropout 0.3`, from weights written here (`--init`, values of order 1
so that every mask changes the loss), with the learning rate, weight
decay and clipping at 0 and one sequence a batch on a corpus that holds
exactly one sequence. LMSCOPE_DROPOUT_MASKS makes lmscope write the
masks it drew for that update (one per site; GPT-2: the embedding sum,
then each layer's attention branch and MLP branch; LSTM: each layer's
input, then the top layer's output). Then

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
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_crosscheck as ref  # noqa: E402  (weights, layer_norm, gelu_tanh, write_safetensors)

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-4
P_DROP = 0.3
T, C, NH, L = 12, 16, 2, 2
LSTM_E, LSTM_H = 12, 16
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


def write_corpus(tmp):
    corpus, valid = os.path.join(tmp, "corpus.txt"), os.path.join(tmp, "valid.txt")
    with open(corpus, "w") as f:
        f.write(CORPUS)
    with open(valid, "w") as f:
        f.write(VALID)
    return corpus, valid


def one_update(tmp, arch, shape_args, make_weights):
    """A model directory of arch with this corpus's tokenizer and the weights
    make_weights(V) gives, then one update of it by lmscope with dropout.
    Returns (weights, x, y, the masks as given, loss, gradient, weights after)."""
    corpus, valid = write_corpus(tmp)
    base, out = os.path.join(tmp, arch + ".base"), os.path.join(tmp, arch + ".out")
    masks_path = os.path.join(tmp, arch + ".masks.safetensors")
    common = [corpus, "--valid", valid, "--context", str(T), "--batch", "1", "--steps", "1"]
    run(["train"] + common + ["-o", base, "--arch", arch] + shape_args)
    with open(os.path.join(base, "config.json")) as f:
        V = json.load(f)["vocab_size"]
    w = make_weights(V)
    shutil.rmtree(os.path.join(base, "checkpoint"), ignore_errors=True)
    ref.write_safetensors(w, os.path.join(base, "model.safetensors"))
    env = dict(os.environ, LMSCOPE_DROPOUT_MASKS=masks_path)
    run(["train"] + common + ["--init", base, "-o", out, "--lr", "0", "--warmup", "0",
                              "--clip", "0", "--weight-decay", "0", "--dropout", str(P_DROP),
                              "--seed", "5", "--log-every", "1"], env)
    ids = [int(line.split("\t")[0]) for line in run(["tokenize", base, corpus]).splitlines()]
    if len(ids) != T + 1:
        raise SystemExit(f"dropout_crosscheck: the corpus is {len(ids)} tokens, not {T + 1}")
    with open(os.path.join(out, "logs", "train.csv")) as f:
        row = f.read().splitlines()[1].split(",")
    m = read_safetensors(os.path.join(out, "checkpoint", "optimizer.safetensors"))["m"]
    after = read_safetensors(os.path.join(out, "checkpoint", "model.safetensors"))
    return (w, ids[:T], ids[1:], read_safetensors(masks_path), float(row[2]),
            m.double() / float(np.float32(1) - BETA1), after)


def site_masks(masks, widths):
    """Site s's mask as (T, widths[s]): the first T * X units of its
    (1, T, W) tensor, W the widest site."""
    if sorted(masks) != sorted(f"site.{s}" for s in range(len(widths))):
        raise SystemExit(f"dropout_crosscheck: mask sites {sorted(masks)}")
    out = [masks[f"site.{s}"].reshape(-1)[:T * X].reshape(T, X).double()
           for s, X in enumerate(widths)]
    kept = sum(float(m.sum()) for m in out) / sum(T * X for X in widths)
    if not 0.55 < kept < 0.85:  # hundreds of units at p = 0.3: 0.70 +- 0.03
        raise SystemExit(f"dropout_crosscheck: {kept:.3f} of the units kept at p {P_DROP}")
    return out


def compare(label, lms, w, names, forward):
    """lmscope's loss, gradient and unchanged weights (lms, from one_update)
    against forward(w64, masks, scale) in float64 autograd; 0 when they agree."""
    lms_loss, masks, lms_grad, after = lms
    scale = float(np.float32(1) / (np.float32(1) - np.float32(P_DROP)))
    w64 = {k: v.double().requires_grad_() for k, v in w.items()}
    loss = forward(w64, masks, scale)
    loss.backward()
    with torch.no_grad():
        plain = float(forward(w64, None, 1.0))

    failures = 0
    err = abs(lms_loss - float(loss)) / abs(float(loss))
    print(f"dropout_crosscheck: {label}: loss lmscope {lms_loss:.6f} torch {float(loss):.6f} "
          f"(relative error {err:.1e}); without the masks torch gives {plain:.6f}")
    if err > TOL:
        failures += 1
    if abs(plain - float(loss)) < 100 * TOL * abs(float(loss)):
        print(f"dropout_crosscheck: {label}: the masks hardly change the loss; the check would not see them")
        failures += 1
    grad = torch.cat([w64[k].grad.reshape(-1) for k in names])
    if grad.numel() != lms_grad.numel():
        print(f"dropout_crosscheck: {label}: {lms_grad.numel()} gradient entries, torch {grad.numel()}")
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
    print(f"dropout_crosscheck: {label}: worst gradient error {worst:.1e} (relative; tolerance {TOL:g})")
    return failures


def check_gpt2(tmp):
    w, x, y, masks, loss, grad, after = one_update(
        tmp, "gpt2", ["--layers", str(L), "--heads", str(NH), "--embd", str(C)],
        lambda V: ref.make_weights(20261207, V=V, P=T, C=C, L=L))
    masks = site_masks(masks, [C] * (1 + 2 * L))
    V = w["wte.weight"].shape[0]
    return compare("gpt2", (loss, masks, grad, after), w, tensor_order(V),
                   lambda w64, m, scale: forward(w64, x, y, m, scale))


def lstm_weights(V):
    """The textbook LSTM language model's tensors (arch/rnn.c's order),
    normal with std 0.5 so that the gates are far from their linear regime."""
    g = torch.Generator().manual_seed(20261208)
    w = {"embedding.weight": torch.randn(V, LSTM_E, generator=g) * 0.5}
    for k in range(L):
        nin = LSTM_E if k == 0 else LSTM_H
        for name, shape in (("weight_ih", (4 * LSTM_H, nin)), ("weight_hh", (4 * LSTM_H, LSTM_H)),
                            ("bias_ih", (4 * LSTM_H,)), ("bias_hh", (4 * LSTM_H,))):
            w[f"encoder.{name}_l{k}"] = torch.randn(*shape, generator=g) * 0.5
    w["output.weight"] = torch.randn(V, LSTM_H, generator=g) * 0.5
    w["output.bias"] = torch.randn(V, generator=g) * 0.1
    return w


def lstm_layer(x, w, k):
    """Layer k of the LSTM over x (n, I), PyTorch's equations and gate order
    (i, f, g, o), written out so that autograd reaches the weights."""
    p = lambda name: w[f"encoder.{name}_l{k}"]
    h = c = torch.zeros(LSTM_H, dtype=x.dtype)
    out = []
    for t in range(x.shape[0]):
        i, f, g, o = (x[t] @ p("weight_ih").T + p("bias_ih") + h @ p("weight_hh").T
                      + p("bias_hh")).chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        out.append(h)
    return torch.stack(out)


def lstm_layer_is_torchs(w, x):
    """lstm_layer agrees with torch's own nn.LSTM on layer 0."""
    cell = nn.LSTM(x.shape[-1], LSTM_H, 1, batch_first=True).double()
    with torch.no_grad():
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, f"{n}_l0").copy_(w[f"encoder.{n}_l0"])
        want, _ = cell(x.unsqueeze(0))
        return torch.allclose(lstm_layer(x, w, 0), want.squeeze(0), rtol=1e-12, atol=1e-12)


def lstm_forward(w, x, y, masks, scale):
    """Mean next-token cross-entropy of the LSTM language model with
    inverted dropout on each layer's input (site l) and on the top layer's
    output (site L) where masks is given: the connections between layers,
    never the recurrent ones."""
    def drop(s, v):
        return v if masks is None else v * masks[s] * scale

    h = w["embedding.weight"][x]
    for k in range(L):
        h = lstm_layer(drop(k, h), w, k)
    logits = drop(L, h) @ w["output.weight"].T + w["output.bias"]
    return torch.nn.functional.cross_entropy(logits, torch.tensor(y))


def check_lstm(tmp):
    """The embedding narrower than the state, so the sites differ in width."""
    w, x, y, masks, loss, grad, after = one_update(
        tmp, "lstm", ["--layers", str(L), "--embd", str(LSTM_E), "--hidden", str(LSTM_H)],
        lstm_weights)
    masks = site_masks(masks, [LSTM_E] + [LSTM_H] * L)
    w64 = {k: v.double() for k, v in w.items()}
    if not lstm_layer_is_torchs(w64, w64["embedding.weight"][x]):
        print("dropout_crosscheck: the written-out LSTM layer differs from nn.LSTM")
        return 1
    return compare("lstm", (loss, masks, grad, after), w, list(w),
                   lambda w64, m, scale: lstm_forward(w64, x, y, m, scale))


def check(tmp):
    failures = check_gpt2(tmp) + check_lstm(tmp)
    if failures:
        print(f"dropout_crosscheck: {failures} mismatches")
        return 1
    print("dropout_crosscheck: lmscope agrees with PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
