#!/bin/sh
# The recurrent pane against PyTorch: a textbook LSTM language model built
# with torch's own modules (nn.Embedding -> nn.LSTM -> nn.Linear, weights
# scaled so that states spread over (-1, 1)) is saved as a model directory
# without a tokenizer, opened in the explorer with the context typed as ids,
# and every number the pane shows for the hidden state h and the cell state
# c is compared with torch's (one decimal on screen: within 0.05). Also: a
# model without a tokenizer says how its context is typed when words are.
set -u
. "$(dirname "$0")/lib/tmux.sh"

/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "SKIP: recurrent.sh: python3-torch missing"; exit 77; }

/usr/bin/python3 - "$d" "$(cd "$(dirname "$0")/../torch" && pwd)" "$(cd "$(dirname "$0")/lib" && pwd)" <<'PYEOF' || { echo "cannot build the LSTM"; exit 1; }
import json, os, sys
import torch
from torch import nn
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[3])
from torch_lstm import E, H, L, V, write_lstm  # noqa: E402
m = write_lstm(sys.argv[1], 7)
# layer 0's h and c after each token, stepping the cell one token at a time
ids = [3, 1, 4, 1, 5, 9, 2, 6]
lstm0 = nn.LSTM(E, H, 1, batch_first=True)
with torch.no_grad():
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(lstm0, name + "_l0").copy_(getattr(m.encoder, name + "_l0"))
    x = m.embedding.weight[torch.tensor(ids)].unsqueeze(0)
    h, c, hs, cs = torch.zeros(1, 1, H), torch.zeros(1, 1, H), [], []
    for t in range(len(ids)):
        _, (h, c) = lstm0(x[:, t:t + 1], (h, c))
        hs.append(h[0, 0].tolist())
        cs.append(c[0, 0].tolist())
json.dump({"ids": ids, "h": hs, "c": cs}, open(os.path.join(sys.argv[1], "want.json"), "w"))
PYEOF

# check_part NAME KEY: the pane's rows (tokens #id) against want.json's KEY.
check_part() {
	/usr/bin/python3 - "$d/screen" "$d/want.json" "$2" <<'PYEOF'
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
want = json.load(open(sys.argv[2]))
ref = want[sys.argv[3]]
rows = [l[49:] for l in lines if re.match(r"^#\d+ ", l[49:])]
assert len(rows) == len(want["ids"]), rows
bad = []
for t, row in enumerate(rows):
    label, cells = row.split(None, 1)
    assert label == "#%d" % want["ids"][t], (label, want["ids"][t])
    got = [float(x) for x in cells.split()]
    assert len(got) == len(ref[t]), (got, ref[t])
    for u, (g, r) in enumerate(zip(got, ref[t])):
        if abs(g - r) > 0.05 + 1e-6:
            bad.append((t, u, g, round(r, 3)))
assert not bad, bad
# the scale is stated
assert any("one decimal" in l for l in lines), "no scale in the legend"
PYEOF
}

start a 120 40 "lstm --text '3 1 4 1 5 9 2 6'"
wait_for a "hidden state h" || fail "no recurrent pane"
wait_for a "F1 help" || fail "no result"
check_part a h || fail "the hidden state h differs from torch (or cannot be told apart)"
# the cell state c is the last part: one step back from h
$T send-keys -t a Tab ,
wait_for a "cell state c" || fail "no cell state c for the LSTM"
sleep 0.3
screen a
check_part a c || fail "the cell state c differs from torch"

# words typed into a model without a tokenizer: a hint, not an empty screen
$T send-keys -t a Escape C-u "In the beginning"
wait_for a "--tokenizer" || fail "no hint that the model needs --tokenizer or ids"
grep -q "3 17 42" "$d/screen" || fail "the hint does not say how ids are typed"
$T send-keys -t a C-c
wait_for a "EXIT=0" || fail "Ctrl-C did not quit"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "recurrent: all screen checks passed"
