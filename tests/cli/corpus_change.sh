#!/bin/sh
# A corpus file that changes (appended to, or replaced by another file) or
# vanishes while `lmscope train` runs stops the run within a step, with one
# line naming the file and exit status 3; the last checkpoint and the model
# beside it still open.
LMSCOPE=${LMSCOPE:-./lmscope}
tmp=$(mktemp -d) || exit 1
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
i=0
while [ $i -lt 400 ]; do
	echo "the cat number $((i % 13)) sat on the mat and the dog $((i % 7)) saw it ."
	i=$((i + 1))
done > "$tmp/base.txt"

run() { # name, what to do to the corpus once a checkpoint exists
	name=$1
	cp "$tmp/base.txt" "$tmp/$name.txt"
	"$LMSCOPE" --threads 1 train "$tmp/$name.txt" -o "$tmp/$name" --layers 1 --heads 2 --embd 16 \
		--context 16 --batch 2 --vocab-size 64 --steps 1000000 --checkpoint-every 5 \
		--valid-every 0 > /dev/null 2> "$tmp/$name.err" &
	pid=$!
	n=0
	while [ ! -f "$tmp/$name/checkpoint/state.json" ] && [ $n -lt 300 ]; do
		sleep 0.1; n=$((n + 1))
	done
	[ -f "$tmp/$name/checkpoint/state.json" ] || { fail "$name: no checkpoint after 30 s"; return; }
	sleep 0.3
	case $2 in
	append) echo "a new line ." >> "$tmp/$name.txt" ;;
	remove) rm "$tmp/$name.txt" ;;
	replace) sed 's/cat/dog/' "$tmp/base.txt" > "$tmp/new.txt" && mv "$tmp/new.txt" "$tmp/$name.txt" ;;
	esac
	n=0
	while kill -0 $pid 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 $pid 2>/dev/null; then
		fail "$name: training still runs 10 s after the corpus changed"; kill $pid; wait $pid; pid=; return
	fi
	wait $pid
	rc=$?
	pid=
	[ $rc -eq 3 ] || fail "$name: exit status $rc, wanted 3"
	grep -v '^step\|^\r\|parameters;' "$tmp/$name.err" | tr '\r' '\n' | grep '^lmscope: ' > "$tmp/$name.msg"
	[ "$(wc -l < "$tmp/$name.msg")" -eq 1 ] || { fail "$name: wanted one error line:"; cat "$tmp/$name.err"; }
	grep -q "^lmscope: $tmp/$name.txt: " "$tmp/$name.msg" || fail "$name: the message does not name the corpus: $(cat "$tmp/$name.msg")"
	"$LMSCOPE" info "$tmp/$name/checkpoint" > /dev/null 2>&1 || fail "$name: the checkpoint does not open"
	"$LMSCOPE" info "$tmp/$name" > /dev/null 2>&1 || fail "$name: the model does not open"
	echo "$name: $(cat "$tmp/$name.msg")"
}
run append append
run remove remove
run replace replace
echo "corpus_change.sh: $failed problems"
[ $failed -eq 0 ]
