#!/usr/bin/python3
"""Cross-check of `lmscope explain A --compare B` against PyTorch.

A random-weight Llama written as a Hugging Face directory (A, float32) is
converted by `lmscope convert A -o B.gguf --type T` for T in Q8_0 and Q4_0,
and each B is compared with A. The reference is computed here in float64
from the weights alone: A's as written, B's read back and dequantized by
gguf_crosscheck.py's own GGUF reader (nothing shared with lmscope), both run
by that file's PyTorch forward in GGUF's layout. At several positions:

  - kl[l]: KL(P_A || P_B) of the softmax of the logit lens of each model's
    residual stream after layer l (final RMSNorm, then the output matrix);
  - attn_maxdiff[l][h]: max |att_A - att_B| over queries q <= pos, keys k <= q;
  - saliency_spearman: Spearman's rho of the two grad_norm saliencies
    (|d log p_X(target) / d e_j|, target A's most probable token after pos)
    over the positions 0 .. pos.

Also a model against itself: KL 0, differences 0, rho 1.
Exit status 0 when everything agrees."""

import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_crosscheck as gc  # noqa: E402

LMSCOPE = gc.LMSCOPE
failures = []
WORST = [0.0]  # the largest KL error seen


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def run_compare(a, b, ids, pos):
    r = subprocess.run([LMSCOPE, "explain", a, "--compare", b, "--ids", ",".join(map(str, ids)),
                        "--position", str(pos), "--json", "--no-faithfulness"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("lmscope explain --compare failed (%d): %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)["compare"]


def lens_logp(w, h):
    """The logit lens of residual rows h (T, C), as log-probabilities."""
    g = w["output_norm.weight"]
    y = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + gc.CFG["eps"]) * g
    return torch.log_softmax(y @ w["output.weight"].T, -1)


def model_view(w, ids, pos):
    """Per-layer lens log-probabilities at pos, attention, and A-style
    saliency needs: the embedding rows (grad enabled) and the logits."""
    emb = w["token_embd.weight"][ids[:pos + 1]].clone().requires_grad_(True)
    hiddens = []
    logits, atts = gc.forward(w, emb, hiddens=hiddens)
    lens = torch.stack([lens_logp(w, h[pos].detach()) for h in hiddens])
    return emb, logits, torch.stack(atts).detach(), lens


def grad_norm(emb, logits, target):
    logp = torch.log_softmax(logits[-1], -1)
    (g,) = torch.autograd.grad(logp[target], emb)
    return g.norm(dim=-1)


def ranks(x):
    """Ranks from 0, ties given their mean rank."""
    order = sorted(range(len(x)), key=lambda i: float(x[i]))
    r = [0.0] * len(x)
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and float(x[order[j + 1]]) == float(x[order[i]]):
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return torch.tensor(r, dtype=torch.float64)


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = float((ra.pow(2).sum() * rb.pow(2).sum()).sqrt())
    return float((ra * rb).sum()) / den if den > 0 else 0.0


def reference(wa, wb, ids, pos):
    ea, la, aa, lens_a = model_view(wa, ids, pos)
    eb, lb, ab, lens_b = model_view(wb, ids, pos)
    kl = (lens_a.exp() * (lens_a - lens_b)).sum(-1)
    q = torch.arange(pos + 1)
    causal = (q[:, None] >= q[None, :]).double()
    diff = ((aa - ab).abs() * causal).amax(dim=(-1, -2))
    target = int(torch.log_softmax(la[-1], -1).argmax())
    sa, sb = grad_norm(ea, la, target), grad_norm(eb, lb, target)
    rho = spearman(sa, sb) if pos >= 1 else None
    # the smallest gap between two saliencies of one model: below float32's
    # resolution a rank can swap without either side being wrong
    gap = min((float((s[:, None] - s[None, :]).abs().add(torch.eye(pos + 1) * 1e9).min() / s.abs().max())
               for s in (sa, sb)), default=1.0) if pos >= 1 else 1.0
    return kl, diff, target, rho, gap


def compare(label, a, b, wa, wb, ids, pos):
    out = run_compare(a, b, ids, pos)
    kl, diff, target, rho, gap = reference(wa, wb, ids, pos)
    what = "%s position %d" % (label, pos)
    check(out["position"] == pos and out["target"]["id"] == target,
          "%s: target %s, torch %d" % (what, out["target"], target))
    got = torch.tensor(out["kl"], dtype=torch.float64)
    # KL from float32 logits: within 2e-6 (measured: 4e-7) plus 1e-4 of the value
    worst = float(((got - kl).abs() - 1e-4 * kl.abs()).max())
    WORST[0] = max(WORST[0], float((got - kl).abs().max()))
    check(got.shape == kl.shape and worst <= 2e-6,
          "%s: kl %s, torch %s" % (what, out["kl"], kl.tolist()))
    got = torch.tensor(out["attn_maxdiff"], dtype=torch.float64)
    check(got.shape == diff.shape and float((got - diff).abs().max()) <= gc.TOL,
          "%s: attn_maxdiff %s, torch %s" % (what, out["attn_maxdiff"], diff.tolist()))
    if rho is None:
        check(out["saliency_spearman"] is None, "%s: rho of one position" % what)
    elif gap > 1e-4:
        check(abs(out["saliency_spearman"] - rho) <= 1e-7,  # JSON keeps 8 digits
              "%s: rho %s, torch %s" % (what, out["saliency_spearman"], rho))
    else:
        print("%s: two saliencies within %.2g of each other; rho not compared" % (what, gap))
    return kl


def main():
    torch.manual_seed(1)
    ids = torch.randint(0, gc.CFG["V"], (gc.CFG["T"] - 4,)).tolist()
    positions = (0, 6, len(ids) - 1)
    with tempfile.TemporaryDirectory() as d:
        a = os.path.join(d, "hf")
        wa = gc.gguf_of(gc.make_model(a))
        for pos in positions:
            out = run_compare(a, a, ids, pos)
            check(out["kl"] == [0.0] * gc.CFG["L"], "self: kl %s" % out["kl"])
            check(out["attn_maxdiff"] == [[0.0] * gc.CFG["NH"]] * gc.CFG["L"], "self: attention differs")
            check(out["saliency_spearman"] == (1.0 if pos else None), "self: rho %s" % out["saliency_spearman"])
        last = {}
        for recipe in ("Q8_0", "Q4_0"):
            b = os.path.join(d, "m_%s.gguf" % recipe)
            gc.lmscope("convert", a, "-o", b, "--type", recipe)
            _, _, tensors = gc.read_gguf(b)
            wb = {name: t for name, (kind, t) in tensors.items()}
            for pos in positions:
                kl = compare(recipe, a, b, wa, wb, ids, pos)
            last[recipe] = float(kl[-1])
            print("%s: kl at the last position %s; attention and saliency agree" %
                  (recipe, ["%.3g" % x for x in kl.tolist()]))
        # coarser quantization moves the prediction further
        check(0 < last["Q8_0"] < last["Q4_0"], "KL of Q8_0 %g not below Q4_0's %g" % (last["Q8_0"], last["Q4_0"]))
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("divergence cross-check: all agree (KL within %.2g of float64 PyTorch)" % WORST[0])


main()
