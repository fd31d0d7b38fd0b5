#!/bin/sh
# Presenter mode (P / F8) scales the attention heatmap for a room: at
# 160x48, on a vocabulary of long words, the normal pane cuts the labels
# (5-column key labels, 12-column row labels) while presenter mode shows
# every token whole on both axes, with cells wider than 3 columns; the
# percentages in its cells are explain --attention's for the same head.
set -u
. "$(dirname "$0")/lib/tmux.sh"
for i in $(seq 1 30); do
	echo "Mahershalalhashbaz and the Jerusalemites went down to Bethshemesh with the Abiezrites and the Zarephathites."
done > "$d/long.txt"
"$LMSCOPE" train "$d/long.txt" -o "$d/long" --arch gpt2 --layers 1 --heads 2 --embd 16 --context 16 \
	--steps 30 --lr 0.02 --warmup 1 > "$d/train.log" 2>&1 || { cat "$d/train.log"; echo "cannot train"; exit 1; }
text='Mahershalalhashbaz and the Jerusalemites went down to'

# labels FILE: the words on the heatmap's label rows and row starts (below
# the Attention title), one a line.
labels() {
	/usr/bin/python3 - "$1" <<'PYEOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
t = [i for i, l in enumerate(lines) if "Attention  layer" in l][0]
col = lines[t].index("Attention")
for l in lines[t + 2:]:
    for word in l[col - 1:].split():
        print(word)
PYEOF
}

start a 160 48 "long --text '$text'"
wait_for a "F1 help" || fail "the explorer did not start"
$T send-keys -t a Tab Tab Tab
wait_for a "Attention  layer 0 head 0" || fail "no attention pane"
labels "$d/screen" > "$d/normal"
grep -qx "Mahershalalhashbaz" "$d/normal" && fail "the normal heatmap already shows the long label whole"
grep -qx "Jerusalemites" "$d/normal" && fail "the normal heatmap already shows Jerusalemites whole"
grep -q "^Maher" "$d/normal" || fail "the normal heatmap has no (cut) label of the long token"
$T send-keys -t a P
wait_for a "presenter mode on" || fail "P did not turn presenter mode on"
sleep 0.3
screen a
labels "$d/screen" > "$d/present"
[ "$(grep -cx "Mahershalalhashbaz" "$d/present")" -ge 2 ] ||
	fail "presenter mode does not show Mahershalalhashbaz whole as key and query label"
[ "$(grep -cx "Jerusalemites" "$d/present")" -ge 2 ] ||
	fail "presenter mode does not show Jerusalemites whole as key and query label"
# the cells: wider than 3 columns, the numbers explain --attention gives
/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$d/long" "$text" <<'PYEOF' || fail "presenter cells differ from explain --attention (or are not wider)"
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text = sys.argv[2:5]
out = json.loads(subprocess.run([lm, "explain", model, "--text", text, "--attention", "--json",
                                 "--no-faithfulness"], check=True, capture_output=True, text=True).stdout)
toks, att = out["tokens"], out["attention"][0][0]
t = [i for i, l in enumerate(lines) if "Attention  layer" in l][0]
rows = [l for l in lines[t + 1:] if l.split() and l.split()[0] in toks and re.search(r"\d+$", l)]
assert len(rows) == len(toks), rows
for q, l in enumerate(rows):
    assert l.split()[0] == toks[q], (l, toks[q])
    nums = [int(x) for x in l.split()[1:]]
    assert len(nums) == q + 1, (l, q)
    for k, v in enumerate(nums):
        assert abs(v - 100 * att[q][k]) <= 0.5 + 1e-6, (q, k, v, att[q][k])
    starts = [m.start() for m in re.finditer(r"\d+", l)]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(g > 3 for g in gaps), (l, gaps)
PYEOF
$T send-keys -t a P
wait_for a "presenter mode off" || fail "P did not turn presenter mode off"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "q did not quit"
[ $fails = 0 ] || exit 1
echo "presenter: ok"
