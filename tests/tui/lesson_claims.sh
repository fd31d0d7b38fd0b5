#!/bin/sh
# A lesson's expect lines on screen while it plays, on the shipped
# agreement model: under the caption each claim of the step shows with ✓ or
# ✗ and the measured value (a true and a false claim, their values against
# `lmscope explain --json`), a perplexity over a file once it is measured
# (against `lmscope eval --json`), a claim under the step's ablation
# against `explain --ablate`, and a step without claims showing none.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/agreement
text='the key to the old cabinets'

for s in "the keys to the big table are very good ." "the girl beside the towers was here yesterday ." \
	"the letters of the old river have no name ." "the king from the red table has a long history ."; do
	echo "$s"
done > "$d/valid.txt"
cat > "$d/claims.lesson" <<EOF
title Claims
model $model
speed 400

step Two claims
caption One claim holds, the other does not.
context $text
expect top1 "is"
expect prob "is" > 0.9
expect ppl < 1000 valid.txt

step No claims
caption Nothing to check here.

step Under an ablation
ablate 0.0
expect prob "have" > 0.5
EOF
# pct TEXT TOKEN [ABLATE]: p(TOKEN) by explain, rounded as the screen shows it.
pct() {
	"$LMSCOPE" explain "$model" --text "$1" --top 100 --json --no-faithfulness ${3:+--ablate "$3"} |
		/usr/bin/python3 -c 'import json,sys; print("%.3f" % [c["prob"] for c in json.load(sys.stdin)["top"] if c["token"] == sys.argv[1]][0])' "$2"
}
p_is=$(pct "$text" is)
p_have=$(pct "$text" have 0.0)
ppl=$("$LMSCOPE" eval "$model" "$d/valid.txt" --json |
	/usr/bin/python3 -c 'import json,sys; print("%.2f" % json.load(sys.stdin)["perplexity"])')

start a 150 45 "lesson claims.lesson"
wait_all a "Step 1/3: Two claims" "F1 help" "✓ expect top1 \"is\": top1 \"is\" (p $p_is)" ||
	fail "no ✓ line for the true top1 (p $p_is by explain)"
wait_for a "✗ expect prob \"is\" > 0.9: p(\"is\") = $p_is" ||
	fail "no ✗ line for the false prob claim"
wait_for a "✓ expect ppl < 1000 valid.txt: perplexity $ppl on valid.txt" ||
	fail "no ✓ line for the perplexity ($ppl by eval)"
# the claims sit under the caption, in the caption box
/usr/bin/python3 - "$d/screen" <<'PYEOF' || fail "the claims are not under the caption"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
cap = [i for i, l in enumerate(lines) if "One claim holds" in l][0]
marks = [i for i, l in enumerate(lines) if l.startswith((" ✓ expect", " ✗ expect"))]
assert marks == [cap + 1, cap + 2, cap + 3], (cap, marks)
PYEOF

$T send-keys -t a Space
wait_all a "Step 2/3: No claims" "F1 help" || fail "no second step"
grep -q "expect " "$d/screen" && fail "a step without claims shows claims"

$T send-keys -t a Space
wait_all a "Step 3/3" "| ablated 0.0 |" "F1 help" || fail "no third step"
wait_for a "✗ expect prob \"have\" > 0.5: p(\"have\") = $p_have" ||
	fail "the claim under ablation is not measured with head 0.0 ablated (p $p_have by explain --ablate)"

# back: the results measured before show at once, unchanged
$T send-keys -t a Left Left
wait_all a "Step 1/3" "✓ expect top1 \"is\": top1 \"is\" (p $p_is)" \
	"✗ expect prob \"is\" > 0.9: p(\"is\") = $p_is" || fail "stepping back lost the measured claims"
$T send-keys -t a C-c
wait_for a "EXIT=0" || fail "the lesson did not quit"

[ $fails = 0 ] && echo "lesson_claims: all passed"
exit $((fails > 0))
