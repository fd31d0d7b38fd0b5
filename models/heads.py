#!/usr/bin/python3
"""Which attention heads of models/agreement, models/induction and
models/brackets do the job.

Reads the held-out tail of corpora/agreement.txt, corpora/induction.txt and
corpora/brackets.txt (the part the models were validated on) and asks
`lmscope explain --attention --json` about each example:

agreement  prompt = the sentence up to the verb ("the keys to the old
           cabinet"). Per head: the attention from the last position (where
           the verb is predicted) to the subject noun (position 1). Accuracy:
           the verb of the right number is more probable than its other-number
           twin (are/is, were/was, have/has).
induction  prompt = "A | A'" and "A | A | A'" where A' is a prefix of the
           repeated sequence A. Per head, in the third pass: at each position
           of A' the attention to the tokens right after the earlier
           occurrences of the current token (the induction pattern), and to
           the previous position (the previous-token pattern). Accuracy: the
           greedy next token is the copy.
brackets   prompt = the line up to each closing bracket. Accuracy: the most
           probable token is the right closer; the right closer is the most
           probable of the three. Per head: the attention from the last
           position to the matching open bracket, to the brackets still open
           further out, to brackets already closed, to closing brackets, to
           letters and to itself.

usage: models/heads.py [LMSCOPE] [EXAMPLES] [--only-induction | --only-brackets]
"""
import json
import subprocess
import sys

LMSCOPE = sys.argv[1] if len(sys.argv) > 1 else "./lmscope"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 60
OPEN, CLOSE = "([{", ")]}"
TWIN = {"is": "are", "are": "is", "was": "were", "were": "was", "has": "have", "have": "has"}


def explain(model, text, target=None, top=1):
    cmd = [LMSCOPE, "explain", model, "--text", text, "--attention", "--json", "--top", str(top),
           "--no-faithfulness"]
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
    count = 0
    right = [0, 0]
    total = 0
    for line in tail("corpora/induction.txt", N):
        words = line.split()
        bar = words.index("|")
        first = words[:bar]
        k = len(first) // 2 + 1
        total += 1
        # the second pass (one earlier copy) and the third (two)
        for passes in (1, 2):
            prompt = (first + ["|"]) * passes + first[:k]
            d = explain(model, " ".join(prompt))
            right[passes - 1] += d["top"][0]["token"] == first[k]
        a = d["attention"]
        if ind is None:
            ind = [[0.0] * len(a[0]) for _ in a]
            prev = [[0.0] * len(a[0]) for _ in a]
        base = 2 * (len(first) + 1)  # the third pass starts here
        for j in range(1, k):  # query: the j-th token of the third pass
            if first.count(first[j]) > 1:
                continue
            q = base + j
            for l in range(len(a)):
                for h in range(len(a[l])):
                    # the tokens after both earlier occurrences of the query's token
                    ind[l][h] += a[l][h][q][j + 1] + a[l][h][q][len(first) + 1 + j + 1]
                    prev[l][h] += a[l][h][q][q - 1]
            count += 1
    print("induction: the greedy next token is the copy in %d of %d held-out sequences in the "
          "second pass, %d of %d in the third" % (right[0], total, right[1], total))
    table("induction pattern in the third pass (attention to the tokens after the earlier "
          "occurrences)", ind, count)
    table("previous-token pattern (attention to the position before)", prev, count)


def brackets():
    model = "models/brackets"
    kinds = ["match", "open", "closed", "closer", "letter", "self"]
    att, n, top1, best = None, 0, 0, 0
    for line in tail("corpora/brackets.txt", N):
        words, stack = line.split(), []
        for k, w in enumerate(words):
            if w in OPEN:
                stack.append(k)
            if w not in CLOSE:
                continue
            m = stack.pop()
            d = explain(model, " ".join(words[:k]), top=13)
            p = {t["token"]: t["prob"] for t in d["top"]}
            top1 += d["top"][0]["token"] == w
            best += max(CLOSE, key=lambda c: p.get(c, 0)) == w
            a = d["attention"]
            if att is None:
                att = [[[0.0] * len(kinds) for _ in a[0]] for _ in a]
            for j in range(k):
                kind = ("self" if j == k - 1 else "match" if j == m else "open" if j in stack else
                        "closed" if words[j] in OPEN else "closer" if words[j] in CLOSE else "letter")
                for l in range(len(a)):
                    for h in range(len(a[l])):
                        att[l][h][kinds.index(kind)] += a[l][h][k - 1][j]
            n += 1
    print("brackets: the most probable token is the right closer at %d of %d held-out closing "
          "positions; the right closer is the most probable closer at %d" % (top1, n, best))
    print("mean attention from the last position (rows = heads) to: " + "  ".join(kinds))
    for l in range(len(att)):
        for h in range(len(att[l])):
            print("  %d.%d  " % (l, h) + "  ".join("%.2f" % (x / n) for x in att[l][h]))


if __name__ == "__main__":
    if "--only-induction" not in sys.argv and "--only-brackets" not in sys.argv:
        agreement()
    if "--only-brackets" not in sys.argv:
        induction()
    if "--only-induction" not in sys.argv:
        brackets()
