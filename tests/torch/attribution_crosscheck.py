#!/usr/bin/python3
"""Cross-check of lmscope's attribution methods against PyTorch autograd.

The tiny GPT-2 of gpt2_crosscheck.py (same weights, same tensor code) is
saved as a model directory; for several inputs

    $LMSCOPE explain DIR --ids ... --json --method M [options]

is compared with the same method computed here in float64:
  integrated_gradients  the midpoint rule over the same m points, gradients
                        by autograd (zero and token baselines, contrast)
  occlusion             f(x) - f(x hidden), replaced or removed
  attention_rollout     the product of rownorm(0.5 A + 0.5 I) over layers
  embedding gradient    autograd through the lookup and the tied head
  deletion curve        p(target) as positions are hidden by decreasing score
Relative error <= 1e-3 (float32 engine against float64 reference, with
cancellation in the differences). Exit status 0 when everything agrees."""

import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_crosscheck as g  # noqa: E402

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-3
failures = []


def close(label, got, want, floor=1e-3):
    err = abs(got - want) / max(floor, abs(got), abs(want))
    if err > TOL:
        failures.append(f"{label}: lmscope {got!r}, torch {want!r}")


def explain(d, ids, *extra):
    cmd = [LMSCOPE, "explain", d, "--ids", ",".join(map(str, ids)), "--json", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


def objective(w, e, target, contrast):
    lp = torch.log_softmax(g.gpt2(w, e)[0][-1], -1)
    return lp[target] - (lp[contrast] if contrast is not None else 0.0)


def check_ig(w, d, ids, steps, baseline, contrast):
    args = ["--method", "integrated_gradients", "--ig-steps", str(steps)]
    if baseline is not None:
        args += ["--baseline-id", str(baseline)]
    if contrast is not None:
        args += ["--contrast-id", str(contrast)]
    out = explain(d, ids, *args)
    t = out["target"]["id"]
    e = w["wte.weight"][ids]
    b = torch.zeros_like(e) if baseline is None else w["wte.weight"][[baseline] * len(ids)]
    total = torch.zeros_like(e)
    for i in range(steps):
        x = (b + (i + 0.5) / steps * (e - b)).requires_grad_(True)
        objective(w, x, t, contrast).backward()
        total += x.grad
    ig = ((e - b) * total / steps).sum(-1)
    label = f"IG ids={ids} m={steps} base={baseline} contrast={contrast}"
    for j, s in enumerate(out["saliency"]["scores"]):
        close(f"{label} [{j}]", s, ig[j].item())
    with torch.no_grad():
        gap = ig.sum() - (objective(w, e, t, contrast) - objective(w, b, t, contrast))
    close(label + " gap", out["saliency"]["completeness_gap"], gap.item(), floor=1e-2)


def check_occlusion(w, d, ids, replace, contrast):
    args = ["--method", "occlusion", "--no-faithfulness"]
    args += ["--occlude", "remove"] if replace is None else ["--replace-id", str(replace)]
    if contrast is not None:
        args += ["--contrast-id", str(contrast)]
    out = explain(d, ids, *args)
    t = out["target"]["id"]
    with torch.no_grad():
        f = objective(w, w["wte.weight"][ids], t, contrast)
        for j, s in enumerate(out["saliency"]["scores"]):
            var = ids[:j] + ids[j + 1:] if replace is None else ids[:j] + [replace] + ids[j + 1:]
            want = f - objective(w, w["wte.weight"][var], t, contrast)
            close(f"occlusion ids={ids} replace={replace} [{j}]", s, want.item())


def check_rollout_deletion(w, d, ids):
    out = explain(d, ids, "--method", "attention_rollout", "--replace-id", "0")
    t = out["target"]["id"]
    with torch.no_grad():
        att = g.gpt2(w, w["wte.weight"][ids])[1]
        n = len(ids)
        R = torch.eye(n, dtype=torch.float64)
        for l in range(g.L):
            a = 0.5 * att[l].mean(0) + 0.5 * torch.eye(n, dtype=torch.float64)
            R = (a / a.sum(-1, keepdim=True)) @ R
        scores = out["saliency"]["scores"]
        for j, s in enumerate(scores):
            close(f"rollout ids={ids} [{j}]", s, R[-1, j].item())
        order = sorted(range(n), key=lambda j: (-scores[j], j))
        for k, p in enumerate(out["faithfulness"]["deletion_curve"]):
            var = list(ids)
            for q in order[:k]:
                var[q] = 0
            want = torch.softmax(g.gpt2(w, w["wte.weight"][var])[0][-1], -1)[t]
            close(f"deletion ids={ids} k={k}", p, want.item())


def check_embgrad(w, d, ids, contrast):
    args = ["--embedding-gradient", "--no-faithfulness"]
    if contrast is not None:
        args += ["--contrast-id", str(contrast)]
    out = explain(d, ids, *args)
    t = out["target"]["id"]
    wt = dict(w)
    wt["wte.weight"] = w["wte.weight"].clone().requires_grad_(True)
    (-objective(wt, wt["wte.weight"][ids], t, contrast)).backward()
    eg = out["embedding_gradient"]
    for r, v in enumerate(eg["ids"]):
        for q, x in enumerate(eg["rows"][r]):
            close(f"embedding gradient ids={ids} token {v} dim {q}", x, wt["wte.weight"].grad[v, q].item())


def main():
    torch.set_default_dtype(torch.float64)
    w32 = g.make_weights(7)
    w = {k: v.to(torch.float64) for k, v in w32.items()}
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "plain")
        g.save_plain(w32, d)
        check_ig(w, d, [3, 14, 15, 9, 2, 6], 16, None, None)
        check_ig(w, d, [3, 14, 15, 9, 2, 6], 64, 5, None)
        check_ig(w, d, [1, 7, 20], 32, None, 4)
        check_occlusion(w, d, [3, 14, 15, 9, 2, 6], 0, None)
        check_occlusion(w, d, [3, 14, 15, 9, 2, 6], None, None)
        check_occlusion(w, d, [8, 1, 19, 4], 11, 2)
        check_rollout_deletion(w, d, [3, 14, 15, 9, 2, 6, 5])
        check_embgrad(w, d, [3, 14, 3, 9], None)
        check_embgrad(w, d, [3, 14, 3, 9], 7)
    if failures:
        print("\n".join(failures[:20]))
        print(f"{len(failures)} disagreements")
        return 1
    print("attribution cross-check: IG, occlusion, rollout, deletion curve, embedding gradient agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
