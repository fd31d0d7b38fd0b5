#!/bin/sh
# Lesson files as people write them, and the end of a lesson: a file that
# starts with a UTF-8 byte order mark plays; `q` at the end quits as the
# status line says (even while typing); a step naming a layer or head the
# model does not have is refused before the screen opens, with FILE:LINE.
set -u
. "$(dirname "$0")/lib/tmux.sh"

train gpt --arch gpt2 --layers 2 --heads 2 --embd 32 --context 32 --steps 5

# --- a byte order mark ------------------------------------------------------------
printf '\357\273\277model gpt\nspeed 1000\nstep One\ncontext In the beginning\n' > "$d/bom.lesson"
start a 120 40 "lesson bom.lesson"
wait_for a "step 1/1" || fail "a lesson starting with a byte order mark does not play"
# --- q at the end quits, as the status line says ------------------------------------
wait_all a "> In the beginning" "F1 help" || fail "the lesson's step shows no result"
$T send-keys -t a Space
wait_for a "the end of the lesson (q quits)" || fail "no end-of-lesson message"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "q at the end of the lesson did not quit"
grep -q "beginning q" "$d/screen" && fail "q was typed into the context"

# --- a layer or head the model lacks: FILE:LINE, before the screen ----------------
printf 'model gpt\nstep One\ncontext In the\nstep Two\nlayer 99\n' > "$d/layer.lesson"
(cd "$d" && "$LMSCOPE" lesson layer.lesson < /dev/null > out 2> err)
rc=$?
[ $rc -ne 0 ] || fail "layer 99 in a lesson was accepted"
grep -q "^lmscope: layer.lesson:5: layer 99 does not exist: the model has 2 layers (0 to 1)$" "$d/err" ||
	fail "layer 99 is not refused with FILE:LINE: $(cat "$d/err")"
printf 'model gpt\nstep One\nhead 1 7\n' > "$d/head.lesson"
(cd "$d" && "$LMSCOPE" lesson head.lesson < /dev/null > out 2> err)
[ $? -ne 0 ] || fail "head 1 7 in a lesson was accepted"
grep -q "^lmscope: head.lesson:3: head 7 does not exist" "$d/err" ||
	fail "head 7 is not refused with FILE:LINE: $(cat "$d/err")"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "lesson_input: all checks passed"
