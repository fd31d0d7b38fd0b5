#!/bin/sh
# `make memcheck`: valgrind memcheck over the unit tests and over one short
# `train`, one `explain` and one `eval` run of lmscope, all built without
# sanitizers (build/memcheck/). Fails on any invalid read or write, use of
# uninitialised memory, bad free, or leak (definite, indirect or possible);
# "still reachable" blocks (OpenBLAS's thread buffers, kept for the life of
# the process) are not leaks. Suppressions: tests/memcheck/lmscope.supp.
#
#     sh tests/memcheck/run.sh build/memcheck/lmscope build/memcheck/tests/test_*
lmscope=$1
shift
supp=tests/memcheck/lmscope.supp
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# One OpenBLAS thread and a kernel valgrind can decode (it has no AVX-512).
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell LMSCOPE_THREADS=1
export CK_FORK=no CK_DEFAULT_TIMEOUT=3600
vg() {
	valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --track-origins=yes \
		--suppressions="$supp" --trace-children=no "$@"
}
pass=0; fail=0; failed=""
run() { # name, command...
	name=$1
	shift
	start=$(date +%s)
	if vg "$@" > "$tmp/out" 2>&1; then
		pass=$((pass + 1)); echo "ok   $name ($(($(date +%s) - start)) s)"
	else
		rc=$?
		fail=$((fail + 1)); failed="$failed $name"
		echo "FAIL $name (status $rc)"
		# the failed checks and the kinds of valgrind errors first, then the end
		grep -E ':[FE]:|Invalid (read|write|free)|uninitialised|definitely lost|indirectly lost|possibly lost' \
			"$tmp/out" | grep -v 'in loss record' | head -20
		grep -E 'in loss record|Invalid|uninitialised' "$tmp/out" | sort | uniq -c | sort -rn | head -5
		tail -30 "$tmp/out"
	fi
}

for t in "$@"; do
	run "$(basename "$t")" "$t"
done

# A corpus of a few hundred lines: the King James text when it is built,
# else generated sentences.
if [ -s corpora/kjv.train.txt ]; then
	head -300 corpora/kjv.train.txt > "$tmp/corpus.txt"
else
	i=0
	while [ $i -lt 300 ]; do
		echo "the cat number $((i % 17)) sat on the mat and the dog $((i % 5)) saw it."
		i=$((i + 1))
	done > "$tmp/corpus.txt"
fi
head -20 "$tmp/corpus.txt" > "$tmp/eval.txt"
run train "$lmscope" train "$tmp/corpus.txt" -o "$tmp/model" --arch gpt2 --layers 1 --heads 2 \
	--embd 16 --context 16 --vocab-size 200 --batch 2 --steps 3 --warmup 1 --checkpoint-every 2
if [ -f "$tmp/model/config.json" ]; then
	run explain "$lmscope" explain "$tmp/model" --text "and the" --top 3 --attention
	run eval "$lmscope" eval "$tmp/model" "$tmp/eval.txt"
else
	fail=$((fail + 1)); failed="$failed explain eval"; echo "FAIL explain, eval: train wrote no model"
fi

[ -n "$failed" ] && echo "memcheck failed:$failed"
echo "memcheck: $pass clean, $fail failed"
[ $fail -eq 0 ]
