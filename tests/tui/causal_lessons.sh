#!/bin/sh
# The shipped lessons that drive the causal views, played to their end in
# tmux on the models they name: induction-ablation.lesson (the status line
# names each step's ablated heads, the candidates' probabilities against
# `lmscope explain --ablate`, the overview's induction scores against
# `lmscope heads --json`) and agreement-patching.lesson (the patching pane
# in the attention's place with the corrupted context, its heatmap against
# `lmscope patch --json`, the attention back with `corrupt off`); a claim of
# each shows as holding under the caption.
set -u
. "$(dirname "$0")/lib/tmux.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)

# at NAME K N TEXT...: step K of N showing, every TEXT on one screen, no
# engine computing; the screen stays in $d/screen.
at() {
	name=$1 k=$2 n=$3
	shift 3
	wait_all "$name" "step $k/$n |" "Step $k/$n" "F1 help" "$@"
}
# top_prob: the first candidate row's token and percentage (the first % on its line), "TOKEN PCT".
top_prob() { sed -n 's/^ *1.\([^ ]*\) [^%]* \([0-9.]*\)%.*/\1 \2/p' "$d/screen" | head -1; }
# explain_p MODEL TEXT TOKEN [ABLATE]: p(TOKEN) in percent by explain.
explain_p() {
	"$LMSCOPE" explain "$1" --text "$2" --top 100 --json --no-faithfulness ${4:+--ablate "$4"} |
		/usr/bin/python3 -c 'import json,sys; print("%.2f" % (100 * [c["prob"] for c in json.load(sys.stdin)["top"] if c["token"] == sys.argv[1]][0]))' "$3"
}
# same_top TEXT ABLATE: the first candidate on screen is explain's, with its probability.
same_top() {
	got=$(top_prob)
	tok=${got% *}
	want=$(explain_p "$model" "$1" "$tok" "$2")
	first=$("$LMSCOPE" explain "$model" --text "$1" --top 1 --json --no-faithfulness \
		${2:+--ablate "$2"} | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top"][0]["token"])')
	[ "$tok" = "$first" ] && [ "${got#* }" = "$want" ] ||
		{ echo "screen: $got, explain: $first, p($tok) $want%"; return 1; }
}

# ---- induction-ablation.lesson ----------------------------------------------------------
model=$root/models/induction
third='gon non te fun mo lu kon vo dan | gon non te fun mo lu kon vo dan | gon non te'
start I 170 45 "lesson '$root/models/lessons/induction-ablation.lesson' --speed 400"
at I 1 9 "> $third" || fail "induction-ablation: no first step"
grep -q "| ablated" "$d/screen" && fail "step 1 shows an ablation"
same_top "$third" "" || fail "step 1: the top candidate differs from explain"
k=2
for spec in 1.1 1.2 1.0 1.0,1.2; do
	$T send-keys -t I Space
	at I $k 9 "| ablated $spec |" || { fail "step $k does not name the ablated heads $spec"; break; }
	same_top "$third" "$spec" || fail "step $k: the top candidate differs from explain --ablate $spec"
	k=$((k + 1))
done
wait_for I "✓ expect prob \"fun\" < 0.05: p(\"fun\") = 0.007" ||
	fail "step 5: the claim under ablation does not show as holding"
$T send-keys -t I Space
at I 6 9 "| ablated 1.0,1.2 |" "context 3/64" || fail "step 6: the ablation did not outlive the context"
same_top "gon non te" "1.0,1.2" || fail "step 6: the top candidate differs from explain"
$T send-keys -t I Space
at I 7 9 "| ablated 0.1 |" "context 23/64" || fail "step 7 does not ablate head 0.1"
same_top "$third" "0.1" || fail "step 7: the top candidate differs from explain --ablate 0.1"
$T send-keys -t I Space
at I 8 9 "induction score (Enter picks)" || fail "step 8 does not show the overview's induction scores"
grep -q "| ablated" "$d/screen" && fail "ablate off left heads ablated"
/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$third" <<'PYEOF' || fail "step 8: the scores differ from lmscope heads"
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text = sys.argv[2:5]
want = json.loads(subprocess.run([lm, "heads", model, "--text", text, "--json"], check=True,
                                 capture_output=True, text=True).stdout)["induction"]
seen = 0
for l in lines:
    m = re.search(r"L(\d+) +H0 ", l)
    if m:
        got = [float(x) for x in re.findall(r"H\d+ ([-0-9.]+)", l)]
        assert all(abs(a - b) <= 0.0051 for a, b in zip(got, want[int(m.group(1))])), (got, want)
        seen += 1
assert seen == 2, lines
PYEOF
$T send-keys -t I Space
at I 9 9 "Attention  layer 1 head 2" || fail "step 9 does not show head 1.2"
$T send-keys -t I Space
wait_for I "the end of the lesson (q quits)" || fail "induction-ablation does not end after step 9"
$T send-keys -t I q
wait_for I "EXIT=0" || fail "induction-ablation did not quit"

# ---- agreement-patching.lesson ---------------------------------------------------------------
model=$root/models/agreement
# heatmap CLEAN CORRUPT: the resid_pre rows on screen against lmscope patch.
heatmap() {
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$1" "$2" <<'PYEOF'
import json, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, clean, corrupt = sys.argv[2:6]
p = json.loads(subprocess.run([lm, "patch", model, "--clean", clean, "--corrupt", corrupt,
                               "--json"], check=True, capture_output=True, text=True).stdout)
t = [i for i, l in enumerate(lines) if "Patching resid_pre" in l][0]
x = lines[t + 1].index("corrupted> ")
assert lines[t + 1][x:].rstrip() == "corrupted> " + corrupt, lines[t + 1]
for l, row in enumerate(p["resid_pre"]):
    line = lines[t + 4 + l][x:]
    assert line.startswith("L%d" % l), line
    got = [float(v) for v in line[5:].split()[:len(row)]]
    assert len(got) == len(row) and all(abs(g - 100 * w) <= 0.51 for g, w in zip(got, row)), (got, row)
PYEOF
}
start A 170 45 "lesson '$root/models/lessons/agreement-patching.lesson' --speed 400"
at A 1 7 "> the key to the old cabinets" || fail "agreement-patching: no first step"
same_top "the key to the old cabinets" "" || fail "step 1: the top candidate differs from explain"
$T send-keys -t A Space
at A 2 7 "> the keys to the old cabinets" || fail "agreement-patching: no second step"
grep -q "Patching resid_pre" "$d/screen" && fail "step 2 shows the patching pane"
same_top "the keys to the old cabinets" "" || fail "step 2: the top candidate differs from explain"
$T send-keys -t A Space
at A 3 7 "Patching resid_pre: clean context -> corrupted" "> the key to the old cabinets" ||
	fail "step 3 does not show the patching pane"
heatmap "the key to the old cabinets" "the keys to the old cabinets" ||
	fail "step 3: the heatmap differs from lmscope patch"
$T send-keys -t A Space
at A 4 7 "Patching resid_pre" || fail "step 4 lost the patching pane"
wait_all A "✓ expect patch resid_pre 0.1 > 0.9: resid_pre patched at layer 0 position 1 restores 1.000" \
	"✓ expect patch resid_pre 0.5 < 0.1: " || fail "step 4: the patching claims do not show as holding"
$T send-keys -t A Space
at A 5 7 "Patching resid_pre" || fail "step 5 lost the patching pane"
$T send-keys -t A Space
at A 6 7 "| ablated 0.0 |" "Attention  layer" || fail "step 6: no attention pane with head 0.0 ablated"
grep -q "Patching resid_pre" "$d/screen" && fail "corrupt off left the patching pane"
same_top "the key to the old cabinets" "0.0" || fail "step 6: the top candidate differs from explain --ablate 0.0"
$T send-keys -t A Space
at A 7 7 "corrupted> the key to the old cabinet" "> the keys to the old cabinet" ||
	fail "step 7 does not patch singular into plural"
grep -q "| ablated" "$d/screen" && fail "ablate off left heads ablated"
heatmap "the keys to the old cabinet" "the key to the old cabinet" ||
	fail "step 7: the heatmap differs from lmscope patch"
$T send-keys -t A Space
wait_for A "the end of the lesson (q quits)" || fail "agreement-patching does not end after step 7"
$T send-keys -t A q
wait_for A "EXIT=0" || fail "agreement-patching did not quit"

[ $fails = 0 ] && echo "causal_lessons: all passed"
exit $((fails > 0))
