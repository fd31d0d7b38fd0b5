#!/bin/sh
# The export (e / F5) for slides: beside the text and the SVG a PNG of the
# same figure (the PNG signature, a header of sane dimensions), numbered
# with the other files (an earlier lmscope-export-N.png alone moves the
# number on); the JSON parses and carries the logit lens as `explain --lens
# --json` has it (at the last position, then at the position Left moved the
# lens to); in presenter mode the figures hold the enlarged pane alone; for
# an LSTM the JSON carries every layer's hidden state h and cell state c,
# against PyTorch's nn.LSTM stepped one token at a time.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/kjv-transformer
text='In the beginning God created the heaven and the'

# wait_file FILE: up to 10 s for FILE to exist and be non-empty.
wait_file() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ]
}

# check_png FILE: the signature and an IHDR of sane dimensions.
check_png() {
	/usr/bin/python3 - "$1" <<'PYEOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", b[:8]
assert b[12:16] == b"IHDR", b[12:16]
w, h = struct.unpack(">II", b[16:24])
assert 200 <= w <= 4000 and 200 <= h <= 8000, (w, h)
assert b[-8:-4] == b"IEND", b[-12:]
PYEOF
}

# check_lens JSON: the export's lens against explain --lens on the tokens
# up to its position, for its target.
check_lens() {
	/usr/bin/python3 - "$1" "$LMSCOPE" "$model" "$2" <<'PYEOF'
import json, subprocess, sys
d = json.load(open(sys.argv[1]))
lm, model, pos = sys.argv[2], sys.argv[3], int(sys.argv[4])
lens = d["lens"]
pos = len(d["ids"]) - 1 if pos < 0 else pos
assert lens["position"] == pos, (lens["position"], pos)
cmd = [lm, "explain", model, "--ids", ",".join(map(str, d["ids"][:pos + 1])), "--lens", "--top", "5",
       "--target-id", str(d["target"]["id"]), "--json", "--no-faithfulness"]
want = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["lens"]
assert len(lens["layers"]) == len(want["layers"]) == 4, lens
for l, (g, w) in enumerate(zip(lens["layers"], want["layers"])):
    assert g["target"]["id"] == w["target"]["id"] and g["target"]["rank"] == w["target"]["rank"], (l, g, w)
    assert abs(g["target"]["prob"] - w["target"]["prob"]) <= 1e-6 + 1e-5 * w["target"]["prob"], (l, g, w)
    assert [c["id"] for c in g["top"]] == [c["id"] for c in w["top"]], (l, g["top"], w["top"])
    assert [c["token"] for c in g["top"]] == [c["token"] for c in w["top"]], (l, g["top"], w["top"])
    for a, b in zip(g["top"], w["top"]):
        assert abs(a["prob"] - b["prob"]) <= 1e-6 + 1e-5 * b["prob"], (l, a, b)
PYEOF
}

# --- a Transformer: PNG beside the SVG, the lens in the JSON ------------------------
echo earlier > "$d/lmscope-export-1.png"
start a 120 40 "'$model' --text '$text'"
wait_for a "F1 help" || fail "the explorer did not start"
$T send-keys -t a Tab e
wait_file "$d/lmscope-export-2.json" || fail "no export numbered 2 (an existing .png must count)"
wait_for a "lmscope-export-2.txt, .svg and .png" || fail "the status line does not name the PNG"
[ "$(cat "$d/lmscope-export-1.png")" = earlier ] || fail "the export overwrote an earlier PNG"
[ -s "$d/lmscope-export-2.svg" ] || fail "no SVG beside the PNG"
check_png "$d/lmscope-export-2.png" || fail "lmscope-export-2.png is not a sane PNG"
check_lens "$d/lmscope-export-2.json" -1 || fail "the export's lens differs from explain --lens"
# the lens moved to position 4: the next export has it there
$T send-keys -t a Tab Tab Tab Left Left Left Left
wait_for a "Logit lens at 4 '" || fail "Left did not move the lens"
sleep 0.5
$T send-keys -t a e
wait_file "$d/lmscope-export-3.json" || fail "no third export"
check_lens "$d/lmscope-export-3.json" 4 || fail "the export's lens at position 4 differs from explain"
# presenter mode: the figure of the enlarged pane alone (the lens, then the
# attention); without it every part. Parts are told by their colours in the
# SVG: the target's bar, the full-attention cell (the first query's) and the
# lens's bars.
$T send-keys -t a P
wait_for a "presenter mode on" || fail "P did not turn presenter mode on"
$T send-keys -t a e
wait_file "$d/lmscope-export-4.json" || fail "no export in presenter mode (lens)"
$T send-keys -t a BTab
sleep 0.3
$T send-keys -t a e
wait_file "$d/lmscope-export-5.json" || fail "no export in presenter mode (attention)"
check_png "$d/lmscope-export-4.png" || fail "the lens's PNG is not a sane PNG"
check_png "$d/lmscope-export-5.png" || fail "the attention's PNG is not a sane PNG"
/usr/bin/python3 - "$d" <<'PYEOF' || fail "the figures' parts do not follow presenter mode"
import sys
bar, att, lens = "rgb(80%,25%,20%)", "rgb(8%,25%,55%)", "rgb(78%,85%,94%)"
def parts(n):
    svg = open("%s/lmscope-export-%d.svg" % (sys.argv[1], n)).read()
    return [name for name, c in (("bars", bar), ("attention", att), ("lens", lens)) if c in svg]
assert parts(2) == ["bars", "attention", "lens"], parts(2)
assert parts(4) == ["lens"], parts(4)
assert parts(5) == ["attention"], parts(5)
PYEOF
# explain --figure draws the lens with --lens, as the export does
(cd "$d" && "$LMSCOPE" explain "$model" --text "$text" --figure plain.svg > /dev/null &&
	"$LMSCOPE" explain "$model" --text "$text" --lens --figure lens.svg > /dev/null) ||
	fail "explain --figure failed"
grep -qF "rgb(78%,85%,94%)" "$d/lens.svg" || fail "explain --lens --figure draws no lens"
grep -qF "rgb(78%,85%,94%)" "$d/plain.svg" && fail "explain --figure draws a lens without --lens"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "q did not quit"
$T kill-session -t a

# --- an LSTM: hidden and cell states of every layer ----------------------------------
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	/usr/bin/python3 - "$d" "$(cd "$(dirname "$0")/../torch" && pwd)" "$(cd "$(dirname "$0")/lib" && pwd)" <<'PYEOF' || fail "cannot build the LSTM"
import json, os, sys
import torch
from torch import nn
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[3])
from torch_lstm import E, H, L, V, write_lstm  # noqa: E402
m = write_lstm(sys.argv[1], 11)
# each layer stepped one token at a time, the next layer reading its h
ids = [3, 1, 4, 1, 5, 9, 2, 6]
with torch.no_grad():
    x = m.embedding.weight[torch.tensor(ids)].unsqueeze(0)
    hid, cell = [], []
    for l in range(L):
        one = nn.LSTM(E if l == 0 else H, H, 1, batch_first=True)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(one, name + "_l0").copy_(getattr(m.encoder, name + "_l%d" % l))
        h, c, hs, cs = torch.zeros(1, 1, H), torch.zeros(1, 1, H), [], []
        for t in range(len(ids)):
            _, (h, c) = one(x[:, t:t + 1], (h, c))
            hs.append(h[0, 0].tolist())
            cs.append(c[0, 0].tolist())
        hid.append(hs)
        cell.append(cs)
        x = torch.tensor(hs).unsqueeze(0)
json.dump({"ids": ids, "hidden": hid, "cell": cell}, open(os.path.join(sys.argv[1], "want.json"), "w"))
PYEOF
	mkdir "$d/r"
	$T new-session -d -s r -x 120 -y 40 -c "$d/r" \
		"TERM=xterm-256color \"$LMSCOPE\" ../lstm --text '3 1 4 1 5 9 2 6'; echo EXIT=\$?; sleep 60"
	wait_for r "F1 help" || fail "the LSTM explorer did not start"
	$T send-keys -t r Tab F5
	wait_file "$d/r/lmscope-export-1.json" || fail "no LSTM export"
	check_png "$d/r/lmscope-export-1.png" || fail "the LSTM's PNG is not a sane PNG"
	/usr/bin/python3 - "$d/r/lmscope-export-1.json" "$d/want.json" <<'PYEOF' || fail "the LSTM export's states differ from torch"
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert got["ids"] == want["ids"], (got["ids"], want["ids"])
for key in ("hidden", "cell"):
    g, w = got[key], want[key]
    assert len(g) == len(w) == 2, key
    for l in range(2):
        assert len(g[l]) == len(w[l]) == 8, (key, l)
        for t in range(8):
            assert len(g[l][t]) == len(w[l][t]) == 10, (key, l, t)
            for u in range(10):
                assert abs(g[l][t][u] - w[l][t][u]) <= 1e-5, (key, l, t, u, g[l][t][u], w[l][t][u])
PYEOF
	$T send-keys -t r C-c
	wait_for r "EXIT=0" || fail "Ctrl-C did not quit the LSTM explorer"
else
	echo "SKIP: export.sh LSTM states: python3-torch missing"
fi

[ $fails = 0 ] || exit 1
echo "export: ok"
