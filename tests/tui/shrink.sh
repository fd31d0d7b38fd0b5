#!/bin/sh
# A model file cut short while the explorer has its weights mapped (a
# 16-bit Llama: its matrices are read in place on every forward): typing
# makes the next forward touch the vanished pages. The explorer ends with
# the one line naming the file and exit status 3 (not SIGBUS), and the
# terminal is given back first: the normal screen (not the explorer's),
# the line on it, and the terminal's modes as they were (stty: canonical
# input, echo).
set -u
. "$(dirname "$0")/lib/tmux.sh"

train words --steps 2 --context 16 --batch 4 --embd 16 --layers 1 --heads 2 --warmup 1
vocab=$(/usr/bin/python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$d/words/vocab.json") ||
	{ echo "shrink.sh: setup: no vocab.json"; exit 1; }
/usr/bin/python3 "$(dirname "$0")/../cli/lib/llama_f16.py" "$d/l" "$vocab" ||
	{ echo "shrink.sh: setup: llama_f16.py failed"; exit 1; }
for f in vocab.json tokenizer_config.json merges.txt tokenizer.json; do
	[ -f "$d/words/$f" ] && cp "$d/words/$f" "$d/l/"
done

$T new-session -d -s a -x 160 -y 40 -c "$d" \
	"TERM=xterm-256color \"$LMSCOPE\" l --text 'In the'; echo EXIT=\$?; stty -a; echo STTY-END; sleep 60"
wait_for a "F1 help" || fail "the explorer did not start"
truncate -s 3000000 "$d/l/model.safetensors"
$T send-keys -t a -l " beginning"
wait_for a "STTY-END" || fail "the explorer did not end when its weights vanished"
want="lmscope: l/model.safetensors: the file shrank while in use (replaced or truncated by another program)"
grep -q "EXIT=3" "$d/screen" || fail "exit status $(sed -n 's/.*EXIT=//p' "$d/screen"), wanted 3 (135: SIGBUS)"
[ "$(grep -cF "$want" "$d/screen")" -eq 1 ] || fail "not the one line naming the file: $(cat "$d/screen")"
grep -q "Next token" "$d/screen" && fail "the explorer's screen was left (no rmcup)"
# stty -a prints " icanon " and " echo " when set, "-icanon", "-echo" when not
for mode in icanon echo isig icrnl opost; do
	grep -Eq "(^| )$mode( |\$)" "$d/screen" || fail "terminal mode $mode left off: $(cat "$d/screen")"
done

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "shrink: all screen checks passed"
