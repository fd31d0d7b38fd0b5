#!/usr/bin/python3
"""Which attention heads of models/agreement and models/induction do the job.

Reads the held-out tail of corpora/agreement.txt and corpora/induction.txt
(the part the models were validated on) and asks `lmscope explain
--attention --json` about each example:

agreement  prompt = the sentence up to the verb ("the keys to the old
           cabinet"). Per head: the attention from the last position (where
           the verb is predicted) to the subject noun (position 1). Accuracy:
           the verb of the right number is more probable than its other-number
           twin (are/is, were/was, have/has).
induction  prompt = "A | A'" where A' is a prefix of the repeated sequence A.
           Per head: at each position of A' the attention to the token right
           after the earlier occurrence of the current token (the induction
           pattern), and to the previous position (the previous-token pattern
           that feeds it). Accuracy: the greedy next token is the copy.

usage: models/heads.py [LMSCOPE] [EXAMPLES]
"""
import json
import subprocess
import sys

LMSCOPE = sys.argv[1] if len(sys.argv) > 1 else "./lmscope"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 60
TWIN = {"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has"}


def explain(model, text, target=None):
    cmd = [LMSCOPE, "explain", model, "--text", text, "--attention", "--json", "--top", "1"]
    if target is not None:
        cmd += ["--target-id", str(target)]
    return json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)


def ids_of(model, words):
    out = subprocess.run([LMSCOPE, "tokenize", model, "--json", "--text", " ".join(words)],
                         capture_output=True, check=True).stdout
    return json.loads(out)["ids"]


def tail(path, n):
    lines = open(path).read().split("\n")
    lines = [l for l in lines if l.strip()]
    return lines[-n:]


def table(name, score, count):
    L, H = len(score), len(score[0])
    print("%s: mean attention per head (rows = layers, columns = heads)" % name)
    for l in range(L):
        print("  layer %d: " % l + "  ".join("h%d %.2f" % (h, score[l][h] / count) for h in range(H)))


def agreement():
    model = "models/agreement"
    att, n, right = None, 0, 0
    for line in tail("corpora/agreement.txt", N):
        words = line.split()
        v = next(i for i, w in enumerate(words) if w in TWIN and i > 3)
        prompt = words[:v]
        verb, other = ids_of(model, [words[v], TWIN[words[v]]])
        good = explain(model, " ".join(prompt), verb)["target"]["logprob"]
        d = explain(model, " ".join(prompt), other)
        right += good > d["target"]["logprob"]
        a = d["attention"]
        if att is None:
            att = [[0.0] * len(a[0]) for _ in a]
        for l in range(len(a)):
            for h in range(len(a[l])):
                att[l][h] += a[l][h][len(prompt) - 1][1]
        n += 1
    print("agreement: the verb of the subject's number beats its twin in %d of %d held-out sentences"
          % (right, n))
    table("attention from the verb's position to the subject", att, n)


def induction():
    model = "models/induction"
    ind = prev = None
    count = right = total = 0
    for line in tail("corpora/induction.txt", N):
        words = line.split()
        bar = words.index("|")
        first = words[:bar]
        k = len(first) // 2 + 1
        prompt = first + ["|"] + first[:k]
        d = explain(model, " ".join(prompt))
        right += d["top"][0]["token"] == first[k]
        total += 1
        a = d["attention"]
        if ind is None:
            ind = [[0.0] * len(a[0]) for _ in a]
            prev = [[0.0] * len(a[0]) for _ in a]
        for j in range(1, k):  # query: the j-th token of the repeat (skip repeated tokens)
            q = bar + 1 + j
            if first.count(first[j]) > 1:
                continue
            for l in range(len(a)):
                for h in range(len(a[l])):
                    ind[l][h] += a[l][h][q][j + 1]   # the token after its first occurrence
                    prev[l][h] += a[l][h][q][q - 1]  # the previous position
            count += 1
    print("induction: the greedy next token is the copy in %d of %d held-out sequences" % (right, total))
    table("induction pattern (attention to the token after the earlier occurrence)", ind, count)
    table("previous-token pattern (attention to the position before)", prev, count)


if __name__ == "__main__":
    if "--only-induction" not in sys.argv: agreement()
    induction()
