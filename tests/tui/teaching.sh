#!/bin/sh
# Teaching and comparing, end to end in tmux: a lesson played step by step
# with the screen asserted (captions, the typed context, candidates against
# `lmscope explain`, the selected candidate, head and method, the context
# typed out visibly, stepping back showing what stepping forward showed); a
# malformed lesson named by its line; two models side by side driven by one
# context; pinned results with deltas checked against explain on both
# contexts; presenter mode and the light theme; a recording that replays to
# the screens it was recorded from.
set -u
. "$(dirname "$0")/lib/tmux.sh"

train gpt --arch gpt2 --layers 2 --heads 2 --embd 32 --context 32 --steps 40 --lr 0.02 \
	--warmup 1 --batch 4
train lstm --arch lstm --layers 1 --embd 16 --hidden 16 --context 16 --steps 30 --lr 0.02 \
	--warmup 1

# The candidate tokens as drawn in the right side's left column.
right_candidates() { sed 's/^.*│//' "$d/screen" | sed -n 's/^ *[0-9][0-9]*.\([^ ]*\) .*[0-9]%.*/\1/p'; }

# --- a malformed lesson names its line ------------------------------------------------
printf 'title broken\nstep one\ncaption fine\nfocus nowhere\n' > "$d/bad.lesson"
"$LMSCOPE" lesson "$d/bad.lesson" "$d/gpt" > "$d/out" 2> "$d/err"
rc=$?
[ $rc -eq 4 ] || fail "a malformed lesson exits with $rc, not 4"
grep -q "^lmscope: $d/bad.lesson:4: focus wants one of" "$d/err" ||
	{ fail "the error does not name line 4"; cat "$d/err"; }
"$LMSCOPE" lesson "$d/missing.lesson" "$d/gpt" > /dev/null 2> "$d/err"
rc=$?
[ $rc -eq 3 ] && grep -q "missing.lesson: No such file" "$d/err" || fail "a missing lesson exits with $rc"
printf 'step one\ncontext x\n' > "$d/nomodel.lesson"
"$LMSCOPE" lesson "$d/nomodel.lesson" > /dev/null 2> "$d/err"
[ $? -eq 2 ] && grep -q "names no model" "$d/err" || fail "a lesson without a model is not a usage error"

# --- a lesson played ---------------------------------------------------------------------
cat > "$d/intro.lesson" <<EOF
title Test lesson
model gpt
speed 20

step What comes next
caption Every word of the vocabulary gets a probability.
context In the beginning
focus candidates

step Second choice
caption The saliency explains the second candidate.
type " God"
candidate 2
pin on

step A head
head 1 1
method grad_x_input

step Typed out
caption Watch the words arrive.
type " created the heaven and the earth, and the deep"
EOF
start L 120 40 "lesson intro.lesson"
settle L "Step 1/4: What comes next" || fail "no first step"
grep -q "Every word of the vocabulary gets a probability." "$d/screen" || fail "no caption"
sed -n 1p "$d/screen" | grep -q "^> In the beginning *$" || fail "step 1 context not typed"
candidates | head -3 > "$d/shown"
explain_top "$d/gpt" "In the beginning" 3 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || { fail "step 1 candidates differ from explain"; cat "$d/shown" "$d/expected"; }

$T send-keys -t L Space
settle L "Step 2/4: Second choice" || fail "no second step"
sed -n 1p "$d/screen" | grep -q "^> In the beginning God *$" || fail "step 2 context not typed"
second=$(explain_top "$d/gpt" "In the beginning God" 2 | sed -n 2p)
grep -q "Saliency: grad_norm  for $second  Δ vs" "$d/screen" ||
	{ fail "step 2 does not explain the second candidate ($second)"; grep Saliency "$d/screen"; }
grep -Eq "^  2.$second " "$d/screen" || fail "the second candidate is not marked as the target"

$T send-keys -t L Right
settle L "Step 3/4: A head" || fail "no third step"
grep -q "Attention  layer 1 head 1" "$d/screen" || fail "step 3 did not select layer 1 head 1"
grep -q "Saliency: grad_x_input  for $second" "$d/screen" || fail "step 3 method or target lost"
cp "$d/settled" "$d/step3"

$T send-keys -t L Space
wait_for L "Step 4/4: Typed out" || fail "no fourth step"
sleep 0.3
screen L
line=$(sed -n 1p "$d/screen")
case "$line" in
*"the deep"*) fail "the context of step 4 appeared at once, not typed out: $line" ;;
"> In the beginning God"*) ;;
*) fail "step 4 types something else: $line" ;;
esac
settle L "Step 4/4" || fail "step 4 did not finish"
sed -n 1p "$d/screen" | grep -q "God created the heaven and the earth, and the deep *$" ||
	fail "step 4 context incomplete"

$T send-keys -t L Left
settle L "Step 3/4: A head" || fail "Left did not go back"
cmp -s "$d/settled" "$d/step3" || { fail "step 3 looks different when reached back"; diff "$d/step3" "$d/settled"; }
$T send-keys -t L Tab q
wait_for L "EXIT=0" || fail "q did not end the lesson"

# --- a lesson driving two models -----------------------------------------------------------
printf 'model gpt\ncompare lstm\nspeed 50\nstep\ncontext In the beginning\nstep\ntype " God"\n' > "$d/two.lesson"
start W 162 36 "lesson two.lesson"
settle W "step 1/2" || fail "the two-model lesson did not start"
grep -q '^> In the beginning *│> In the beginning *$' "$d/screen" || fail "the lesson does not drive both sides"
$T send-keys -t W Space
settle W "step 2/2" || fail "the two-model lesson did not step"
grep -q '^> In the beginning God *│> In the beginning God *$' "$d/screen" || fail "step 2 did not reach both sides"
right_candidates | head -3 > "$d/shown"
explain_top "$d/lstm" "In the beginning God" 3 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || { fail "the lesson's right side differs from explain"; cat "$d/shown" "$d/expected"; }
$T send-keys -t W C-c

# --- two models side by side ---------------------------------------------------------------
start C 162 36 "gpt lstm --text 'In the beginning'"
settle C "| lstm" || fail "no second model"
tail -1 "$d/screen" | grep -q "gpt2 .*lstm" || fail "the status lines do not show both models"
[ "$(grep -c '^> In the beginning *│> In the beginning *$' "$d/screen")" = 1 ] ||
	fail "both sides do not show the context"
candidates | head -3 > "$d/shown"
explain_top "$d/gpt" "In the beginning" 3 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || { fail "left side candidates differ from explain"; cat "$d/shown" "$d/expected"; }
$T send-keys -t C " God"
settle C "context 4/16" || fail "typing did not reach the right side"
grep -q '^> In the beginning God *│> In the beginning God *$' "$d/screen" || fail "the context is not shared"
right_candidates | head -3 > "$d/shown"
explain_top "$d/lstm" "In the beginning God" 3 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || { fail "right side candidates differ from explain"; cat "$d/shown" "$d/expected"; }
$T send-keys -t C C-o
wait_for C "*lstm" || fail "Ctrl-O did not move the keys to the right side"
$T send-keys -t C C-c
wait_for C "EXIT=0" || fail "Ctrl-C did not quit the side-by-side view"

# --- pinned results: deltas against explain on both contexts --------------------------------
start P 120 40 "gpt --text 'In the beginning God'"
settle P "context 4/32" || fail "explorer P did not start"
$T send-keys -t P F9
wait_for P "pinned" || fail "F9 did not pin"
$T send-keys -t P BSpace BSpace BSpace made
settle P "context 4/32" || fail "no result after the edit"
grep -q "Next token  (T=1.00)  Δ vs '…he beginning God'" "$d/screen" || fail "the candidates title lacks the pin"
grep -q "Saliency: grad_norm  for .*Δ vs" "$d/screen" || fail "the saliency title lacks the pin"
/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$d/gpt" <<'EOF' || fail "pinned deltas differ from explain"
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
def explain(text):
    out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--text", text, "--top", "100",
                          "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)
old, new = explain("In the beginning God"), explain("In the beginning made")
p_old = {c["token"]: c["prob"] for c in old["top"]}
rows = [l[:60] for l in lines if re.match(r"^ *[0-9]+.\S+ .*Δ", l[:60])]
assert len(rows) >= 5, rows
for c in new["top"][:5]:
    row = [r for r in rows if re.match(r"^ *[0-9]+.%s " % re.escape(c["token"]), r)][0]
    shown = float(re.search(r"Δ *([-+][0-9.]+)", row).group(1))
    want = 100.0 * (c["prob"] - p_old.get(c["token"], 0.0))
    assert abs(shown - want) < 0.011, (c["token"], shown, want)
# saliency: against the pinned scores (the old context's own top target),
# position by position
title = [l for l in lines if "Saliency: grad_norm" in l][0]
start = lines.index(title) + 1
old_s = old["saliency"]["scores"]
for j, s in enumerate(new["saliency"]["scores"]):
    row = lines[start + j][:60]
    shown = float(re.search(r"Δ *([-+][0-9.e-]+)", row).group(1))
    assert abs(shown - (s - old_s[j])) <= 0.006 * max(1.0, abs(s - old_s[j])) + 1e-3, (row, s, old_s[j])
EOF

# --- presenter mode and the light theme ----------------------------------------------------
$T send-keys -t P Tab F8
wait_for P "presenter mode on" || fail "F8 did not start presenter mode"
settle P "context 4/32"
grep -q "Attention  layer" "$d/screen" && fail "presenter mode still shows the attention pane"
top=$(candidates | head -1)
grep -Eq "^ +1  [^ ]+ .*%" "$d/screen" || { fail "no large candidate label in presenter mode"; cat "$d/screen"; }
[ "$(grep -c '^  ███' "$d/screen")" -ge 4 ] || fail "no two-row bars in presenter mode"
$T send-keys -t P F6
wait_for P "light theme" || fail "F6 did not switch the theme"
$T capture-pane -e -p -t P > "$d/escaped"
grep -q "48;5;231" "$d/escaped" || fail "the light theme has no white background"
$T send-keys -t P C-c
wait_for P "EXIT=0" || fail "explorer P did not quit"
start D 100 30 "gpt --theme light --text 'In the'"
settle D "context 2/32" || fail "--theme light did not start"
$T capture-pane -e -p -t D > "$d/escaped"
grep -q "48;5;231" "$d/escaped" || fail "--theme light has no white background"
$T send-keys -t D C-c

# --- a recording replays to the same screens ------------------------------------------------
start R 120 40 "gpt --record rec.lesson"
wait_for R "F1 help" || fail "explorer R did not start"
$T send-keys -t R "In the beginning"
settle R "context 3/32" "> In the beginning" && cp "$d/settled" "$d/rec1"
$T send-keys -t R F7
wait_for R "recorded step 1 into rec.lesson" || fail "F7 did not record"
$T send-keys -t R " God" Tab Down Down
settle R "context 4/32" "> In the beginning God"
$T send-keys -t R F9
settle R "pinned" && cp "$d/settled" "$d/rec2"
$T send-keys -t R F7
wait_for R "recorded step 2" || fail "F7 did not record step 2"
$T send-keys -t R Escape BSpace BSpace BSpace made Tab Tab Tab . F2
settle R "Saliency: grad_x_input" "> In the beginning made" && cp "$d/settled" "$d/rec3"
$T send-keys -t R F7
wait_for R "recorded step 3" || fail "F7 did not record step 3"
$T send-keys -t R C-c
wait_for R "EXIT=0" || fail "explorer R did not quit"
grep -q "^step" "$d/rec.lesson" || { fail "no lesson file written"; cat "$d/rec.lesson"; }
start Q 120 40 "lesson rec.lesson --speed 100"
for k in 1 2 3; do
	settle Q "step $k/3 |" || { fail "the recording does not reach step $k"; break; }
	# the replay's message line differs ("step k/3"); the panes must not
	sed 's/ *$//' "$d/settled" > "$d/a"
	sed 's/ *$//' "$d/rec$k" > "$d/b"
	cmp -s "$d/a" "$d/b" || { fail "replayed step $k differs from the recorded screen"; diff "$d/b" "$d/a"; }
	$T send-keys -t Q Space
done

# --- the shipped lessons play to their last step (their models are committed) ----------------
for f in models/lessons/*.lesson; do
	name=$(basename "$f" .lesson)
	missing=""
	for m in $(sed -n 's/^\(model\|compare\)[[:space:]]\{1,\}//p' "$f"); do
		[ -f "models/$m/config.json" ] || missing="$missing $m"
	done
	[ -n "$missing" ] && { fail "$name: its model is missing:$missing"; continue; }
	# every word of the lesson's contexts is in its model's vocabulary (the
	# tokenization and predict lessons show unknown words on purpose)
	model=$(sed -n 's/^model[[:space:]]\{1,\}//p' "$f" | head -n 1)
	if [ "$name" != tokenization ] && [ "$name" != predict ]; then
		sed -n 's/^context[[:space:]]\{1,\}//p' "$f" | while IFS= read -r text; do
			"$LMSCOPE" tokenize "models/$model" --text "$text" | grep -q '"<unk>"' &&
				echo "$name: \"$text\" has a word unknown to $model"
		done > "$d/unknown"
		[ -s "$d/unknown" ] && fail "$(cat "$d/unknown")"
	fi
	steps=$(grep -c '^step' "$f")
	# a session named for the lesson; tmux reads a dot in a target as a pane
	session=S$(echo "$name" | tr . _)
	start "$session" 170 45 "lesson '$(pwd)/$f' --speed 400"
	k=1
	while [ $k -le "$steps" ]; do
		settle "$session" "Step $k/$steps" || { fail "$name: step $k not reached"; break; }
		grep -q "lesson: " "$d/screen" && { fail "$name step $k: $(grep -o 'lesson: .*' "$d/screen")"; }
		$T send-keys -t "$session" Space
		k=$((k + 1))
	done
	$T send-keys -t "$session" C-c
	wait_for "$session" "EXIT=0" || fail "$name did not quit"
done

[ $fails -eq 0 ] && echo "teaching.sh: all passed"
[ $fails -eq 0 ]
