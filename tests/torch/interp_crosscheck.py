#!/usr/bin/python3
"""Cross-check of lmscope's causal interventions against PyTorch, on a
random tiny GPT-2 (gpt2_crosscheck.py's weights) and a random tiny Llama
(grouped-query attention, untied head), both written here as model
directories and recomputed here as float64 tensor code with the
interventions as the issue defines them:

  explain --ablate L.H,L.mlp [--ablate-mode zero|mean]
      every next-token log-probability and the grad_x_input saliency (the
      backward of the ablated model) against torch autograd;
  explain --dla
      every term of the direct logit attribution (each component's write
      into the final stream, centred for LayerNorm, times the final norm's
      gain over its scale computed from the whole stream, dotted with
      w_target - w_contrast), and that the terms sum to the logit;
  patch --ids-clean --ids-corrupt
      ld_clean, ld_corrupt and every score of resid_pre, attn_out, mlp_out
      and heads, each patched run recomputed from scratch;
  heads --ids
      previous-token, duplicate-token and induction scores from torch's
      attention probabilities.

Relative error <= 1e-4 on log-probabilities and logits (saliency and DLA
terms: relative to the largest term), absolute 1e-4 on patching scores and
detector scores. Exit status 0 when everything agrees."""

import json
import math
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_crosscheck as g2  # noqa: E402

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-4
FAIL = []


def check(ok, what):
    if not ok:
        FAIL.append(what)
        if len(FAIL) <= 20:
            print("  MISMATCH " + what)


def close(got, want, what, scale=None, tol=TOL):
    den = scale if scale is not None else max(abs(got), abs(want), 1e-30)
    check(abs(got - want) <= tol * max(den, 1e-30), f"{what}: lmscope {got:.9g} torch {want:.9g}")


def lmscope(*args):
    r = subprocess.run([LMSCOPE, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("lmscope %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return json.loads(r.stdout)


# ---- the models, with hooks ----------------------------------------------------

class Hooks:
    """What a forward does to its heads, MLPs and residual stream: ablated
    {(l, h)} and MLPs {l} with mode; patch = (site, l, index, source acts)."""

    def __init__(self, heads=(), mlps=(), mode="zero", patch=None):
        self.heads, self.mlps, self.mode, self.patch = set(heads), set(mlps), mode, patch


def heads_hook(hk, l, y, NH):
    """y (n, C) the heads' attention-weighted values before the projection."""
    n, C = y.shape
    hs = C // NH
    cols = []
    for h in range(NH):
        c = y[:, h * hs:(h + 1) * hs]
        if (l, h) in hk.heads:
            c = torch.zeros_like(c) if hk.mode == "zero" else c.mean(0, keepdim=True).expand(n, hs)
        cols.append(c)
    y = torch.cat(cols, 1)
    p = hk.patch
    if p and p[1] == l and p[0] in ("attn_out", "head"):
        src = p[3]["heads"][l]
        if p[0] == "attn_out":
            y = torch.cat([y[:p[2]], src[p[2]:p[2] + 1], y[p[2] + 1:]], 0)
        else:
            h = p[2]
            y = torch.cat([y[:, :h * hs], src[:, h * hs:(h + 1) * hs], y[:, (h + 1) * hs:]], 1)
    return y


def mlp_hook(hk, l, out):
    if l in hk.mlps:
        out = torch.zeros_like(out)
    p = hk.patch
    if p and p[0] == "mlp_out" and p[1] == l:
        out = torch.cat([out[:p[2]], p[3]["mlp"][l][p[2]:p[2] + 1], out[p[2] + 1:]], 0)
    return out


def resid_hook(hk, l, x):
    p = hk.patch
    if p and p[0] == "resid_pre" and p[1] == l:
        x = torch.cat([x[:p[2]], p[3]["resid"][l][p[2]:p[2] + 1], x[p[2] + 1:]], 0)
    return x


def gpt2_forward(w, e, hk):
    """e (n, C) token embeddings -> logits (n, V), acts, attention (L, NH, n, n)."""
    n, C, NH, L = e.shape[0], g2.C, g2.NH, g2.L
    hs = C // NH
    x = e + w["wpe.weight"][:n]
    mask = torch.ones(n, n, dtype=torch.bool).tril()
    acts = {"resid": [], "heads": [], "mlp": [], "att": []}
    for l in range(L):
        p = lambda name: w[f"h.{l}.{name}"]
        x = resid_hook(hk, l, x)
        acts["resid"].append(x)
        a = g2.layer_norm(x, p("ln_1.weight"), p("ln_1.bias"))
        qkv = a @ p("attn.c_attn.weight") + p("attn.c_attn.bias")
        q, k, v = (t.reshape(n, NH, hs).transpose(0, 1) for t in qkv.split(C, dim=-1))
        att = torch.softmax(((q @ k.transpose(1, 2)) / math.sqrt(hs)).masked_fill(~mask, float("-inf")), -1)
        acts["att"].append(att)
        y = heads_hook(hk, l, (att @ v).transpose(0, 1).reshape(n, C), NH)
        acts["heads"].append(y)
        x = x + y @ p("attn.c_proj.weight") + p("attn.c_proj.bias")
        m = g2.layer_norm(x, p("ln_2.weight"), p("ln_2.bias"))
        out = mlp_hook(hk, l, g2.gelu_tanh(m @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias"))
                       @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias"))
        acts["mlp"].append(out)
        x = x + out
    acts["final"] = x
    xf = g2.layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
    return xf @ w["wte.weight"].T, acts


# the Llama: vocabulary, context, width, heads, key/value heads, layers, FFN
LV, LP, LC, LNH, LKV, LL, LH = 29, 12, 16, 4, 2, 2, 24
LEPS = 1e-5


def llama_weights(seed):
    g = torch.Generator().manual_seed(seed)
    n = lambda *s, std: torch.randn(*s, generator=g) * std
    hs = LC // LNH
    w = {"model.embed_tokens.weight": n(LV, LC, std=0.6)}
    for l in range(LL):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1.0 + n(LC, std=0.2)
        w[p + "self_attn.q_proj.weight"] = n(LC, LC, std=0.4)
        w[p + "self_attn.k_proj.weight"] = n(LKV * hs, LC, std=0.4)
        w[p + "self_attn.v_proj.weight"] = n(LKV * hs, LC, std=0.4)
        w[p + "self_attn.o_proj.weight"] = n(LC, LC, std=0.3)
        w[p + "post_attention_layernorm.weight"] = 1.0 + n(LC, std=0.2)
        w[p + "mlp.gate_proj.weight"] = n(LH, LC, std=0.3)
        w[p + "mlp.up_proj.weight"] = n(LH, LC, std=0.3)
        w[p + "mlp.down_proj.weight"] = n(LC, LH, std=0.3)
    w["model.norm.weight"] = 1.0 + n(LC, std=0.2)
    w["lm_head.weight"] = n(LV, LC, std=0.5)
    return w


def save_llama(w, d):
    os.makedirs(d)
    cfg = {"model_type": "llama", "vocab_size": LV, "hidden_size": LC, "intermediate_size": LH,
           "num_hidden_layers": LL, "num_attention_heads": LNH, "num_key_value_heads": LKV,
           "max_position_embeddings": LP, "rms_norm_eps": LEPS, "rope_theta": 10000.0,
           "tie_word_embeddings": False}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    g2.write_safetensors(w, os.path.join(d, "model.safetensors"))


def rms(x, wt):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + LEPS) * wt


def llama_forward(w, e, hk):
    n, hs = e.shape[0], LC // LNH
    inv = 1.0 / (10000.0 ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    ang = torch.outer(torch.arange(n, dtype=torch.float64), inv)
    ang = torch.cat((ang, ang), -1)[:, None, :]
    cos, sin = ang.cos(), ang.sin()
    rot = lambda x: torch.cat((-x[..., hs // 2:], x[..., :hs // 2]), -1)
    mask = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)
    x = e
    acts = {"resid": [], "heads": [], "mlp": [], "att": []}
    for l in range(LL):
        p = lambda name: w[f"model.layers.{l}.{name}"]
        x = resid_hook(hk, l, x)
        acts["resid"].append(x)
        h = rms(x, p("input_layernorm.weight"))
        q = (h @ p("self_attn.q_proj.weight").T).reshape(n, LNH, hs)
        k = (h @ p("self_attn.k_proj.weight").T).reshape(n, LKV, hs)
        v = (h @ p("self_attn.v_proj.weight").T).reshape(n, LKV, hs)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(LNH // LKV, 1), v.repeat_interleave(LNH // LKV, 1)
        att = torch.softmax(torch.einsum("thd,shd->hts", q, k) / hs ** 0.5 + mask, -1)
        acts["att"].append(att)
        y = heads_hook(hk, l, torch.einsum("hts,shd->thd", att, v).reshape(n, LC), LNH)
        acts["heads"].append(y)
        x = x + y @ p("self_attn.o_proj.weight").T
        m = rms(x, p("post_attention_layernorm.weight"))
        out = mlp_hook(hk, l, (torch.nn.functional.silu(m @ p("mlp.gate_proj.weight").T)
                               * (m @ p("mlp.up_proj.weight").T)) @ p("mlp.down_proj.weight").T)
        acts["mlp"].append(out)
        x = x + out
    acts["final"] = x
    return rms(x, w["model.norm.weight"]) @ w["lm_head.weight"].T, acts


class Model:
    def __init__(self, name, w, fwd, wte, L, NH, V, final):
        self.name, self.w, self.fwd, self.wte = name, w, fwd, wte
        self.L, self.NH, self.V, self.final = L, NH, V, final

    def run(self, ids, hk=None, grad=False):
        e = self.w[self.wte][ids].clone().requires_grad_(grad)
        logits, acts = self.fwd(self.w, e, hk or Hooks())
        return e, logits, acts


# ---- the checks ------------------------------------------------------------------

def spec_of(heads, mlps):
    return ",".join([f"{l}.{h}" for l, h in heads] + [f"{l}.mlp" for l in mlps])


def check_ablation(M, d, ids, heads, mlps, mode):
    hk = Hooks(heads, mlps, mode)
    e, logits, _ = M.run(ids, hk, grad=True)
    lp = torch.log_softmax(logits[-1], -1)
    target = int(lp.argmax())
    lp[target].backward()
    sal = (e.grad * e.detach()).sum(-1)
    out = lmscope("explain", d, "--ids", ",".join(map(str, ids)), "--json", "--top", M.V,
                  "--ablate", spec_of(heads, mlps), "--ablate-mode", mode, "--no-faithfulness",
                  "--method", "grad_x_input")
    what = f"{M.name} ablate {spec_of(heads, mlps)} {mode}"
    check(out["target"]["id"] == target, f"{what}: target {out['target']['id']} vs {target}")
    for t in out["top"]:
        close(t["logprob"], float(lp[t["id"]]), f"{what} logprob[{t['id']}]")
    scale = float(sal.abs().max())
    for j, s in enumerate(out["saliency"]["scores"]):
        close(s, float(sal[j]), f"{what} saliency[{j}]", scale=scale)


def dla_torch(M, acts, target, contrast):
    """Every term of the final stream, mapped to logit units."""
    w = M.w
    x = acts["final"][-1]
    if M.name == "gpt2":
        g, b, wout = w["ln_f.weight"], w["ln_f.bias"], w["wte.weight"]
        s = 1.0 / torch.sqrt(((x - x.mean()) ** 2).mean() + g2.EPS)
        centre = lambda t: t - t.mean()
    else:
        g, b, wout = w["model.norm.weight"], None, w["lm_head.weight"]
        s = 1.0 / torch.sqrt((x ** 2).mean() + LEPS)
        centre = lambda t: t
    wd = wout[target] - (wout[contrast] if contrast is not None else 0.0)
    f = lambda t: float((centre(t) * s * g) @ wd)
    C = x.shape[0]
    hs = C // M.NH
    terms = {"embed": f(acts["resid"][0][-1]), "heads": [], "attn_bias": [], "mlp": []}
    for l in range(M.L):
        y = acts["heads"][l][-1]
        row = []
        for h in range(M.NH):
            if M.name == "gpt2":
                o = y[h * hs:(h + 1) * hs] @ w[f"h.{l}.attn.c_proj.weight"][h * hs:(h + 1) * hs]
            else:
                o = w[f"model.layers.{l}.self_attn.o_proj.weight"][:, h * hs:(h + 1) * hs] @ y[h * hs:(h + 1) * hs]
            row.append(f(o))
        terms["heads"].append(row)
        terms["attn_bias"].append(f(w[f"h.{l}.attn.c_proj.bias"]) if M.name == "gpt2" else 0.0)
        terms["mlp"].append(f(acts["mlp"][l][-1]))
    terms["final_bias"] = float(b @ wd) if b is not None else 0.0
    return terms


def check_dla(M, d, ids, target, contrast):
    _, logits, acts = M.run(ids)
    extra = ["--target-id", target] + (["--contrast-id", contrast] if contrast is not None else [])
    out = lmscope("explain", d, "--ids", ",".join(map(str, ids)), "--json", "--dla",
                  "--no-faithfulness", *extra)["dla"]
    want = dla_torch(M, acts, target, contrast)
    logit = float(logits[-1][target] - (logits[-1][contrast] if contrast is not None else 0.0))
    scale = max([abs(want["embed"]), abs(want["final_bias"])] +
                [abs(v) for r in want["heads"] for v in r] + [abs(v) for v in want["mlp"]])
    what = f"{M.name} dla target {target} contrast {contrast}"
    close(out["embed"], want["embed"], what + " embed", scale)
    close(out["final_bias"], want["final_bias"], what + " final_bias", scale)
    for l in range(M.L):
        close(out["attn_bias"][l], want["attn_bias"][l], f"{what} attn_bias[{l}]", scale)
        close(out["mlp"][l], want["mlp"][l], f"{what} mlp[{l}]", scale)
        for h in range(M.NH):
            close(out["heads"][l][h], want["heads"][l][h], f"{what} head {l}.{h}", scale)
    close(out["logit"], logit, what + " logit", scale)
    close(out["sum"], logit, what + " sum = logit", scale)


def ld(logits, target, contrast):
    if contrast is not None:
        return float(logits[-1][target] - logits[-1][contrast])
    return float(torch.log_softmax(logits[-1], -1)[target])


def check_patch(M, d, clean, corrupt):
    _, lc, ac = M.run(clean)
    _, lx, _ = M.run(corrupt)
    target, contrast = int(lc[-1].argmax()), int(lx[-1].argmax())
    if contrast == target:
        contrast = None
    out = lmscope("patch", d, "--ids-clean", ",".join(map(str, clean)), "--ids-corrupt",
                  ",".join(map(str, corrupt)), "--json")
    what = f"{M.name} patch"
    check(out["target"]["id"] == target, f"{what}: target {out['target']}, torch {target}")
    check((out["contrast"] or {}).get("id") == contrast, f"{what}: contrast {out['contrast']}, torch {contrast}")
    ldc, ldx = ld(lc, target, contrast), ld(lx, target, contrast)
    close(out["ld_clean"], ldc, what + " ld_clean")
    close(out["ld_corrupt"], ldx, what + " ld_corrupt")
    src = {"resid": ac["resid"], "heads": ac["heads"], "mlp": ac["mlp"]}
    n = len(clean)
    for site, key in (("resid_pre", "resid_pre"), ("attn_out", "attn_out"), ("mlp_out", "mlp_out")):
        for l in range(M.L):
            for t in range(n):
                _, lp, _ = M.run(corrupt, Hooks(patch=(site, l, t, src)))
                want = (ld(lp, target, contrast) - ldx) / (ldc - ldx)
                close(out[key][l][t], want, f"{what} {site}[{l}][{t}]", scale=1.0)
    for l in range(M.L):
        for h in range(M.NH):
            _, lp, _ = M.run(corrupt, Hooks(patch=("head", l, h, src)))
            want = (ld(lp, target, contrast) - ldx) / (ldc - ldx)
            close(out["heads"][l][h], want, f"{what} head {l}.{h}", scale=1.0)


def check_heads(M, d, ids):
    _, _, acts = M.run(ids)
    out = lmscope("heads", d, "--ids", ",".join(map(str, ids)), "--json")
    n = len(ids)
    prev = [max([j for j in range(i) if ids[j] == ids[i]], default=-1) for i in range(n)]
    for l in range(M.L):
        for h in range(M.NH):
            a = acts["att"][l][h]
            want = {
                "previous_token": sum(float(a[i, i - 1]) for i in range(1, n)) / (n - 1),
                "duplicate_token": [float(a[i, prev[i]]) for i in range(n) if prev[i] >= 0],
                "induction": [float(a[i, prev[i] + 1]) for i in range(n) if 0 <= prev[i] and prev[i] + 1 < i],
            }
            for k, v in want.items():
                v = v if not isinstance(v, list) else (sum(v) / len(v) if v else None)
                got = out[k][l][h]
                if v is None:
                    check(got is None, f"{M.name} heads {k} {l}.{h}: {got}, torch none")
                else:
                    close(got, v, f"{M.name} heads {k} {l}.{h}", scale=1.0)


def suite(M, d):
    V = M.V
    ids = [3, 7, 1, 9, 4, 7, 2, 5, 11, 6]
    check_ablation(M, d, ids, [(0, 1)], [], "zero")
    check_ablation(M, d, ids, [(1, 2), (0, 3)], [0], "zero")
    check_ablation(M, d, ids, [(0, 0), (1, 3)], [], "mean")
    check_ablation(M, d, ids, [], [1], "mean")
    check_dla(M, d, ids, 5, None)
    check_dla(M, d, ids, 2, 8)
    check_patch(M, d, [4, 8, 2, 6, 1, 3], [4, 8, 2, 9, 1, 3])
    check_patch(M, d, [10, 5, 2, 7, 7, 3, 1], [12, 5, 2, 0, 7, 3, 1])
    rep = [1, 6, 3, 9, 2] * 2
    check_heads(M, d, [x % V for x in rep] + [4])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        w = g2.make_weights(17)
        g2.save_plain(w, tmp + "/gpt2")
        w64 = {k: v.double() for k, v in w.items()}
        suite(Model("gpt2", w64, gpt2_forward, "wte.weight", g2.L, g2.NH, g2.V, "ln_f"), tmp + "/gpt2")
        lw = llama_weights(23)
        save_llama(lw, tmp + "/llama")
        lw64 = {k: v.double() for k, v in lw.items()}
        suite(Model("llama", lw64, llama_forward, "model.embed_tokens.weight", LL, LNH, LV, "norm"),
              tmp + "/llama")
    if FAIL:
        print(f"interp_crosscheck.py: {len(FAIL)} mismatches")
        return 1
    print("interp_crosscheck.py: ablation, DLA, patching and head detectors agree with PyTorch "
          "(GPT-2 and Llama)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
