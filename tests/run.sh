#!/bin/sh
# Runs each test program or script given, prints its output under a header,
# and ends with one line "N passed, N failed, N skipped". Exit status 1 if
# any failed.
#
# Skips: the only files a test may lack are the external ones a clone does
# not have (GPT-2's and Llama 2's tokenizers, stories260K.bin, from
# ../shared beside the project). A test that needs one for everything it
# checks prints one line "SKIP: <what>: <file> missing" and exits 77 (the
# automake convention): it counts as skipped, not passed. A test that can
# check the rest without it prints the same line for each part it leaves out
# and exits as usual: it counts as passed (or failed) on what it ran, and
# each SKIP line adds one to the skipped count. So "skipped" counts the
# tests and parts of tests that did not run.
pass=0; fail=0; skip=0; failed=""
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LMSCOPE=${LMSCOPE:-./lmscope}
out=$(mktemp) || exit 1
trap 'rm -f "$out" "$out.rc"' EXIT
for t in "$@"; do
	echo "== $t"
	{
		case "$t" in
		*.py) /usr/bin/python3 "$t" ;;
		*.sh) sh "$t" ;;
		*) "$t" ;;
		esac
		echo $? > "$out.rc"
	} 2>&1 | tee "$out"
	rc=$(cat "$out.rc")
	parts=$(grep -c '^SKIP: ' "$out")
	if [ "$rc" -eq 77 ]; then
		skip=$((skip + 1))
	elif [ "$rc" -eq 0 ]; then
		pass=$((pass + 1)); skip=$((skip + parts))
	else
		fail=$((fail + 1)); skip=$((skip + parts)); failed="$failed $t"; echo "FAILED ($rc): $t"
	fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
