#!/bin/sh
# The logit lens pane on the shipped KJV Transformer: every layer's row (the
# target's rank and probability, the layer's top tokens and theirs) against
# `lmscope explain --lens --json` at the last position; Left moves the lens
# to an earlier position, checked against explain on the context's first
# tokens (a causal model's state there does not see what follows); another
# candidate selected as the target changes the ranks, as explain
# --target-id computes them.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/kjv-transformer
text='In the beginning God created the heaven and the'

# check POS TARGET: the pane on $d/screen against explain at view position
# POS (-1: the last) for the candidate ranked TARGET (1: the top).
check() {
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$text" "$1" "$2" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text, pos, rank = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def explain(*a):
    cmd = [lm, "explain", model, "--top", "5", "--json", "--no-faithfulness"] + list(a)
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
full = explain("--text", text)
ids = full["ids"]
target = full["top"][rank - 1]["id"]
pos = len(ids) - 1 if pos < 0 else pos
want = explain("--ids", ",".join(map(str, ids[:pos + 1])), "--lens", "--target-id", str(target))["lens"]
assert want["position"] == pos, want
title = [l for l in lines if "Logit lens at " in l]
assert title, "no lens title"
assert re.search(r"Logit lens at %d '" % pos, title[0]), (title[0], pos)
rows = {}
for l in lines:
    m = re.search(r"layer (\d+)\s+#(\d+)\s+([0-9.]+)%(.*)$", l)
    if m:
        rows[int(m.group(1))] = m
assert sorted(rows) == list(range(len(want["layers"]))), sorted(rows)
for layer, w in enumerate(want["layers"]):
    m = rows[layer]
    # explain runs the first pos + 1 tokens, the explorer the whole
    # context: OpenBLAS sums a product of another row count in another
    # order, and deep in the ranking (thousands) logits that close swap
    # places; the first thousand ranks must agree exactly
    want_rank = w["target"]["rank"]
    assert abs(int(m.group(2)) - want_rank) <= want_rank // 1000, (layer, m.group(0), w["target"])
    assert abs(float(m.group(3)) - 100 * w["target"]["prob"]) <= 0.0051, (layer, m.group(0), w["target"])
    shown = re.findall(r"(\S+)\s+([0-9.]+)%", m.group(4))
    assert len(shown) >= 3, (layer, m.group(0))
    for (tok, p), c in zip(shown, w["top"]):
        assert tok.replace("\u00b7", " ") == c["token"].strip() or tok == c["token"], (layer, tok, c)
        assert abs(float(p) - 100 * c["prob"]) <= 0.051, (layer, tok, p, c)
PYEOF
}

start a 120 40 "'$model' --text '$text'"
wait_for a "F1 help" || fail "the explorer did not start"
# focus the lens: context, candidates, saliency, attention, lens
$T send-keys -t a Tab Tab Tab Tab
wait_for a "(last): target" || fail "no lens at the last position"
check -1 1 || fail "the lens at the last position differs from explain --lens"
$T send-keys -t a Left Left Left
wait_for a "Logit lens at 5 '" || fail "Left did not move the lens to position 5"
sleep 0.5
screen a
check 5 1 || fail "the lens at position 5 differs from explain on the first 6 tokens"
# the second candidate as the target: Tab to the candidates, Down
$T send-keys -t a Tab Tab Down
sleep 1
screen a
check 5 2 || fail "the lens's ranks of the second candidate differ from explain --target-id"
$T send-keys -t a Tab Tab Tab Right Right Right
wait_for a "(last): target" || fail "Right did not bring the lens back to the last position"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "q did not quit"
[ $fails = 0 ] || exit 1
echo "lens: ok"
