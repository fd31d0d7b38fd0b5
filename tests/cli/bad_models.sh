#!/bin/sh
# Every hand-made bad input under tests/bad/<case>/ (binary files generated
# by tests/bad/gen.py): `lmscope info` and `lmscope explain` must fail with a
# non-zero status, not by a signal (status < 128), printing exactly one line
# on stderr: the case's `expected` line, with MODEL replaced by the path.
# Runs lmscope built with ASan + UBSan (build/asan/lmscope, made by `make
# test`) when it is there, so a sanitizer report fails the case too.
LMSCOPE=${LMSCOPE:-./lmscope}
if [ -x build/asan/lmscope ]; then
	LMSCOPE=build/asan/lmscope
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/bad/gen.py tests/bad "$tmp" || { echo "bad_models.sh: gen.py failed"; exit 1; }
failed=0; count=0
for dir in tests/bad/*/; do
	case=$(basename "$dir")
	model="$tmp/$case"
	path=$model
	[ -f "$dir/path" ] && path="$model/$(cat "$dir/path")"
	want=$(sed "s|MODEL|$model|g" "$dir/expected")
	for cmd in info explain; do
		if [ $cmd = info ]; then
			"$LMSCOPE" info "$path" > /dev/null 2> "$tmp/err"
		else
			"$LMSCOPE" explain "$path" --ids 1,2 > /dev/null 2> "$tmp/err"
		fi
		rc=$?
		count=$((count + 1))
		if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
			echo "FAIL $case ($cmd): exit status $rc"; failed=$((failed + 1)); continue
		fi
		if [ "$(wc -l < "$tmp/err")" -ne 1 ] || [ "$(cat "$tmp/err")" != "$want" ]; then
			echo "FAIL $case ($cmd): stderr"; cat "$tmp/err"; echo "wanted"; echo "$want"
			failed=$((failed + 1))
		fi
	done
done
echo "bad_models.sh: $((count - failed)) of $count passed"
[ $failed -eq 0 ]
