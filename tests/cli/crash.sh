#!/bin/sh
# Crash consistency: `train --force` and `convert --force` are killed with
# SIGKILL at many points while they replace an existing model directory;
# after every kill the directory must hold exactly the old model or exactly
# the new one: the same top-level files, byte for byte, as one of the two
# (logs/ and checkpoint/ aside, which carry timings), and `info` must open
# it. The next writer removes what the killed ones left beside it. When
# strace can trace here, every call that creates, syncs, renames or removes
# a file is slowed by 20 ms, so that the kills land in the writing and
# swapping rather than in the training.
LMSCOPE=${LMSCOPE:-./lmscope}
KILLS=${KILLS:-10}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

awk 'BEGIN { srand(7); split("cat dog bird fish horse", n, " "); split("runs sleeps eats jumps sings", v, " ");
	for (i = 0; i < 400; i++) printf "the %s %s .\n", n[int(rand() * 5) + 1], v[int(rand() * 5) + 1] }' > "$tmp/c.txt"
small="--context 16 --batch 2 --layers 1 --heads 2 --steps 1 --warmup 1"
# (plain commands, not functions: run's `&` must start lmscope itself, so
# that kill -9 hits it and not a subshell)
set -- "$LMSCOPE" --threads 1 train "$tmp/c.txt" $small --embd 256 --tokenizer char

# the old model (word-level) and the two new ones, written where nothing is
"$LMSCOPE" --threads 1 train "$tmp/c.txt" $small --embd 16 -o "$tmp/old" 2> "$tmp/err" || { echo "crash.sh: setup: $(cat "$tmp/err")"; exit 1; }
"$@" -o "$tmp/new_t" 2> "$tmp/err" || { echo "crash.sh: setup: $(cat "$tmp/err")"; exit 1; }
"$@" -o "$tmp/new_t2" 2> /dev/null
"$LMSCOPE" convert "$tmp/new_t" --f16 -o "$tmp/new_c" > /dev/null 2> "$tmp/err" ||
	{ echo "crash.sh: setup: $(cat "$tmp/err")"; exit 1; }

# the files that make the model (and its tokenizer)
files() { (cd "$1" && for f in *; do [ -f "$f" ] && echo "$f"; done); }
same_model() { # a b
	[ "$(files "$1")" = "$(files "$2")" ] || return 1
	for f in $(files "$1"); do cmp -s "$1/$f" "$2/$f" || return 1; done
}
same_model "$tmp/new_t" "$tmp/new_t2" || { echo "crash.sh: training is not deterministic; cannot tell new from mixed"; exit 1; }

slow=
if strace -f -qq -o /dev/null -e trace=none true 2> /dev/null; then
	calls=fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,rmdir,mkdir,mkdirat,link,linkat
	slow="strace -f -qq -o /dev/null -e trace=$calls -e inject=$calls:delay_enter=20000"
fi

elapsed_ms() { start=$(date +%s%N); "$@" > /dev/null 2>&1; echo $(( ($(date +%s%N) - start) / 1000000 )); }

run() { # name, command...: kill it at KILLS points across its run time
	name=$1; shift
	rm -rf "$tmp/d" && cp -a "$tmp/old" "$tmp/d"
	total=$(elapsed_ms $slow "$@" -o "$tmp/d" --force)
	same_model "$tmp/d" "$tmp/new_${name#*_}" || fail "$name: an uninterrupted run did not give the new model"
	olds=0 news=0
	for k in $(seq "$KILLS"); do
		rm -rf "$tmp/d" && cp -a "$tmp/old" "$tmp/d"
		$slow "$@" -o "$tmp/d" --force > /dev/null 2>&1 &
		pid=$!
		ms=$(( total * k / KILLS + k % 3 ))
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		victim=$pid
		[ -n "$slow" ] && victim=$(pgrep -P $pid)
		[ -n "$victim" ] && kill -9 $victim 2> /dev/null
		wait $pid 2> /dev/null
		if same_model "$tmp/d" "$tmp/old"; then
			olds=$((olds + 1))
		elif same_model "$tmp/d" "$tmp/new_${name#*_}"; then
			news=$((news + 1))
		else
			fail "$name: killed after ${ms} ms: neither the old nor the new model: $(files "$tmp/d" | tr '\n' ' ')"
			continue
		fi
		"$LMSCOPE" info "$tmp/d" > /dev/null 2> "$tmp/err" || fail "$name: killed after ${ms} ms: info: $(cat "$tmp/err")"
	done
	echo "crash.sh: $name ($total ms a run) killed $KILLS times: $olds old, $news new"
	# the next writer clears what the killed ones left beside the target
	"$@" -o "$tmp/d" --force > /dev/null 2>&1 || fail "$name: the run after the kills failed"
	left=$(ls -a "$tmp" | grep '^\.d\.lmscope-')
	[ -z "$left" ] || fail "$name: left beside the target: $left"
}
run train_t "$@"
run convert_c "$LMSCOPE" convert "$tmp/new_t" --f16

echo "crash.sh: $failed problems"
[ $failed -eq 0 ]
