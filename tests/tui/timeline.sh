#!/bin/sh
# The training timeline: a model trained with --snapshot-every opens at its
# own weights ("final model" in the status line); { steps back through the
# snapshots and } forward again, the context unchanged. At each stop the
# candidates' probabilities on screen are those `lmscope explain --json`
# gives for that snapshot's directory (and for the model itself at the
# end), the first snapshot's differ from the final model's, and the status
# line names the step; an export there says which snapshot it is of. A
# model without snapshots, and one whose index is malformed, say why there
# is no timeline; a snapshot that does not open says so and leaves the
# weights shown as they were. The last step of attention-induction.lesson
# steps through the snapshots models/induction ships.
set -u
. "$(dirname "$0")/lib/tmux.sh"
text='In the beginning God created the heaven and the'

train snap --steps 30 --snapshot-every 10 --context 16 --batch 4 --embd 32 --layers 2 --heads 2 \
	--lr 3e-3 --warmup 2
train plain --steps 5 --context 16 --batch 4 --embd 16 --layers 1 --heads 2

# check MODEL_DIR STATUS: the screen shows STATUS and the context, and its
# candidate rows hold the probabilities explain gives for MODEL_DIR; the
# rows are kept in $d/rows.MODEL_DIR's-name for later comparisons.
check() {
	wait_all a "$2" "F1 help" "> $text" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$1" "$text" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text = sys.argv[2:5]
out = subprocess.run([lm, "explain", model, "--text", text, "--top", "1000", "--json"],
                     check=True, capture_output=True, text=True).stdout
want = {c["token"]: c["prob"] for c in json.loads(out)["top"]}
rows = [re.match(r"^ *(\d+).(\S+) .*?([0-9.]+)% +(-?[0-9.]+)", l[:50]) for l in lines]
rows = [r for r in rows if r]
assert len(rows) >= 8, lines
for r in rows[:8]:
    tok, p = r.group(2), float(r.group(3))
    assert abs(p - 100 * want[tok]) <= 0.006, (model, tok, p, 100 * want[tok])
PYEOF
}
# the rows on screen as "token prob" lines
rows() { sed -n 's/^ *[0-9][0-9]*.\([^ ]*\) .* \([0-9.]*\)% .*/\1 \2/p' "$d/screen" | head -8; }

start a 120 40 "snap --text '$text'"
check "$d/snap" "| final model " || fail "the model itself, before any step"
rows > "$d/rows.final"
# the sparkline of the validation loss at 10, 20, 30: falling, the highest
# first; only the part up to the snapshot shown
grep -q "| final model █.▁ |" "$d/screen" || fail "the sparkline at the model itself"
$T send-keys -t a Tab '{'
check "$d/snap/snapshots/step-000030" "| step 30/30 " || fail "{ to the last snapshot"
$T send-keys -t a '{' '{'
check "$d/snap/snapshots/step-000010" "| step 10/30 " || fail "{ { to the first snapshot"
rows > "$d/rows.first"
grep -q "| step 10/30 valid [0-9.]* █   |" "$d/screen" || fail "the sparkline at the first snapshot"
cmp -s "$d/rows.final" "$d/rows.first" && fail "the first snapshot's candidates are the final model's"
$T send-keys -t a e
i=0; while [ ! -s "$d/lmscope-export-1.json" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
(cd "$d" && /usr/bin/python3 - lmscope-export-1.json snap/snapshots/step-000010) <<'PYEOF' ||
import json, os, sys
o = json.load(open(sys.argv[1]))
assert o["snapshot"]["step"] == 10, o.get("snapshot")
assert os.path.samefile(o["snapshot"]["path"], sys.argv[2]), o["snapshot"]
PYEOF
	fail "the export at the first snapshot does not name it"
# { at the first snapshot stays there
$T send-keys -t a '{'
sleep 0.3
check "$d/snap/snapshots/step-000010" "| step 10/30 " || fail "{ past the first snapshot"
$T send-keys -t a '}'
check "$d/snap/snapshots/step-000020" "| step 20/30 " || fail "} to the second snapshot"
$T send-keys -t a '}' '}'
check "$d/snap" "| final model " || fail "} } back to the model itself"
rows > "$d/rows.back"
cmp -s "$d/rows.final" "$d/rows.back" || fail "back at the model itself, other candidates"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

# no snapshots: a message, and the status line has no step
start b 120 40 "plain --text '$text'"
wait_for b "F1 help" || fail "plain: no result"
$T send-keys -t b Tab '{'
wait_for b "no snapshots here (lmscope train --snapshot-every N)" || fail "plain: { said nothing"
grep -q "final model\|step [0-9]" "$d/screen" && fail "plain: a timeline in the status line"

# a malformed index: the model opens, the status line says why there is no timeline
cp -r "$d/snap" "$d/bad"
printf '[{"step": 10, "tokens": 1}]\n' > "$d/bad/snapshots/index.json"
start c 160 40 "bad --text '$text'"
wait_for c "no timeline: bad/snapshots/index.json: entry 1: \"train_loss\" is not a loss" ||
	fail "bad index: no message"

# a snapshot that does not open: the message names it, the weights shown stay
cp -r "$d/snap" "$d/broken"
echo '{"model_type": "gpt2"' > "$d/broken/snapshots/step-000020/config.json"
start e 160 40 "broken --text '$text'"
wait_for e "final model" || fail "broken: no result"
$T send-keys -t e Tab '{'
wait_for e "| step 30/30 " || fail "broken: { to the last snapshot"
$T send-keys -t e '{'
wait_all e "broken/snapshots/step-000020/config.json: invalid JSON" "| step 30/30 " ||
	fail "broken: the snapshot that does not open"
$T send-keys -t e '{'
wait_for e "| step 10/30 " || fail "broken: { past the snapshot that does not open"

# the shipped lesson's last step scrubs the shipped model's snapshots: {
# from the model itself to its last snapshot and the one before, the status
# line naming each (models/induction keeps them; the Makefile lists them)
root=$(cd "$(dirname "$0")/../.." && pwd)
steps=$(sed -n 's/^INDUCTION_SNAPSHOTS := //p' "$root/Makefile")
last=${steps##* }
prev=$(echo "$steps" | awk '{print $(NF - 1)}')
start L 170 45 "lesson '$root/models/lessons/attention-induction.lesson' --speed 400"
wait_for L "Step 1/9" || fail "attention-induction: no first step"
for k in 2 3 4 5 6 7 8 9; do
	# (Space while a context is still being typed out finishes the typing)
	settle L "Step $((k - 1))/9" || { fail "attention-induction: step $((k - 1)) never settled"; break; }
	$T send-keys -t L Space
	wait_for L "Step $k/9" || { fail "attention-induction: no step $k"; break; }
done
wait_all L "final model" "Attention  layer 1 head 2" || fail "the last step: not head 1.2 of the model itself"
$T send-keys -t L '{'
wait_for L "step $last/$last " || fail "{ in the lesson: not the last snapshot"
$T send-keys -t L '{'
wait_for L "step $prev/$last " || fail "{ { in the lesson: not the snapshot before the last"

[ $fails = 0 ] && echo "timeline: all passed"
exit $((fails > 0))
