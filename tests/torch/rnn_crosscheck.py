#!/usr/bin/python3
"""Cross-check of the recurrent models against PyTorch.

For each of rnn, lstm and gru, and an LSTM whose output layer is tied to
its embedding, builds the textbook PyTorch language model
(nn.Embedding -> nn.RNN / nn.LSTM / nn.GRU, batch_first -> nn.Linear) with
torch's own modules, saves it as a model directory (config.json +
model.safetensors, written byte by byte by gpt2_crosscheck.py), and runs

    $LMSCOPE explain DIR --ids ... --json --top 5 [--method grad_x_input]

Compared with torch autograd (in float64, on the same float32 weights):
the log-probabilities of the top tokens and of the target, and the saliency
scores of both methods (gradient of log p(target) by each input position's
token embedding). Exit status 0 when everything agrees within 1e-4
(relative)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_crosscheck import write_safetensors  # noqa: E402

LMSCOPE = os.environ.get("LMSCOPE", "./lmscope")
TOL = 1e-4
V, E, H, L = 13, 8, 10, 2
CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
failures = []


class LanguageModel(nn.Module):
    """The textbook word-level language model."""

    def __init__(self, kind, tied=False):
        super().__init__()
        width = H if tied else E
        self.embedding = nn.Embedding(V, width)
        self.encoder = CELLS[kind](width, H, L, batch_first=True)
        self.output = nn.Linear(H, V)
        if tied:  # the word_language_model example's --tied
            self.output.weight = self.embedding.weight

    def from_embeddings(self, e):
        out, _ = self.encoder(e)
        return self.output(out)


def rel_err(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def check(label, got, want, floor):
    """Relative error; floor is the size of the terms that make up `want`
    (a sum of terms of both signs is only as accurate as its terms)."""
    err = abs(got - want) / max(abs(got), abs(want), floor, 1e-30)
    if err > TOL:
        failures.append(label)
        print(f"  MISMATCH {label}: lmscope {got:.8g} torch {want:.8g} (rel err {err:.2e})")
    return err


def explain(model_dir, ids, extra):
    cmd = [LMSCOPE, "explain", model_dir, "--ids", ",".join(map(str, ids)),
           "--json", "--top", "5"] + extra
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"  `{' '.join(cmd)}` failed ({res.returncode}): {res.stderr.strip()}")
        failures.append("explain exit status")
        return None
    return json.loads(res.stdout)


def crosscheck(kind, ids, tmp, seed, tied=False):
    torch.manual_seed(seed)
    model = LanguageModel(kind, tied)
    with torch.no_grad():  # larger than the default init, so the gates saturate somewhat
        for p in model.encoder.parameters():
            p.mul_(2.0)
    model_dir = os.path.join(tmp, kind + ("-tied" if tied else ""))
    os.makedirs(model_dir, exist_ok=True)
    config = {"model_type": kind, "vocab_size": V, "embedding_dim": H if tied else E,
              "hidden_dim": H, "num_layers": L}
    if tied:
        config["tie_word_embeddings"] = True
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f)
    # a tied model is stored with the shared tensor once, under the
    # embedding's name (safetensors' save_model drops the alias), so that a
    # reader ignoring tie_word_embeddings fails here
    state = model.state_dict()
    if tied:
        del state["output.weight"]
    write_safetensors(state, os.path.join(model_dir, "model.safetensors"))

    # the reference: the same float32 weights, evaluated in float64
    ref = model.double()
    emb = ref.embedding.weight[torch.tensor(ids)].detach().clone().requires_grad_(True)
    logp = torch.log_softmax(ref.from_embeddings(emb.unsqueeze(0))[0, -1], dim=-1)
    worst = 0.0
    for target in (None, (int(torch.argmin(logp)) + 1) % V):
        extra = [] if target is None else ["--target-id", str(target)]
        t = int(torch.argmax(logp)) if target is None else target
        g, = torch.autograd.grad(logp[t], emb, retain_graph=True)
        want = {"grad_norm": g.norm(dim=-1).tolist(), "grad_x_input": (g * emb).sum(-1).tolist()}
        # grad_x_input sums terms of both signs: judge it against their size
        floors = {"grad_norm": [0.0] * len(ids), "grad_x_input": (g * emb).abs().sum(-1).tolist()}
        for method in ("grad_norm", "grad_x_input"):
            out = explain(model_dir, ids, extra + ["--method", method])
            if out is None:
                return worst
            tag = f"{kind}{' tied' if tied else ''} target {t} {method}"
            if out["ids"] != ids:
                failures.append(f"{tag} ids")
                print(f"  MISMATCH {tag}: ids {out['ids']}")
            if out["target"]["id"] != t:
                failures.append(f"{tag} target")
                print(f"  MISMATCH {tag}: target {out['target']['id']}, torch {t}")
                continue
            top_want = torch.topk(logp, 5).indices.tolist()
            if [e["id"] for e in out["top"]] != top_want:
                failures.append(f"{tag} top ids")
                print(f"  MISMATCH {tag}: top {[e['id'] for e in out['top']]}, torch {top_want}")
            for e in out["top"]:
                worst = max(worst, check(f"{tag} logprob[{e['id']}]", e["logprob"],
                                         float(logp[e["id"]]), 0.0))
            worst = max(worst, check(f"{tag} target logprob", out["target"]["logprob"],
                                     float(logp[t]), 0.0))
            scores, ref_scores = out["saliency"]["scores"], want[method]
            if out["saliency"]["method"] != method or len(scores) != len(ids):
                failures.append(f"{tag} saliency shape")
                print(f"  MISMATCH {tag}: saliency {out['saliency']}")
                continue
            for j, (a, b) in enumerate(zip(scores, ref_scores)):
                worst = max(worst, check(f"{tag} saliency[{j}]", a, b, floors[method][j]))
    return worst


def main():
    tmp = tempfile.mkdtemp(prefix="lmscope-rnn-")
    try:
        for i, kind in enumerate(CELLS):
            for ids in ([3, 1, 4, 1, 5], [9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 12, 0, 11, 4]):
                worst = crosscheck(kind, ids, tmp, 1234 + i)
                print(f"{kind:4s} T={len(ids):2d}: worst relative error {worst:.2e}")
        # the output layer tied to the embedding
        ids = [9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2]
        worst = crosscheck("lstm", ids, tmp, 4321, tied=True)
        print(f"lstm tied T={len(ids):2d}: worst relative error {worst:.2e}")
    finally:
        shutil.rmtree(tmp)
    if failures:
        print(f"rnn_crosscheck: {len(failures)} mismatches")
        return 1
    print("rnn_crosscheck: lmscope agrees with PyTorch (rnn, lstm, gru, tied lstm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
