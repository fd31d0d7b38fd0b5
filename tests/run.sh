#!/bin/sh
# Runs each test program or script given, prints its output under a header,
# and ends with one line "N passed, N failed". Exit status 1 if any failed.
pass=0; fail=0; skip=0; failed=""
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LMSCOPE=${LMSCOPE:-./lmscope}
for t in "$@"; do
	echo "== $t"
	case "$t" in
	*.py) /usr/bin/python3 "$t" ;;
	*.sh) sh "$t" ;;
	*) "$t" ;;
	esac
	rc=$?
	if [ $rc -eq 0 ]; then pass=$((pass + 1)); elif [ $rc -eq 77 ]; then skip=$((skip + 1)); else fail=$((fail + 1)); failed="$failed $t"; echo "FAILED ($rc): $t"; fi
done
[ -n "$failed" ] && echo "failed:$failed"
skipped=""; [ $skip -gt 0 ] && skipped=", $skip skipped (exit status 77)"
echo "$pass passed, $fail failed$skipped"
[ $fail -eq 0 ]
