#!/bin/sh
# Replays every committed fuzz input — the seeds and each crash a fuzzer
# once found (tests/fuzz/seeds/<target>/, tests/fuzz/crashes/<target>/) —
# through the fuzz targets linked with a plain main under ASan + UBSan
# (build/asan/fuzz-replay/<target>, built by `make fuzz-replay`, part of
# `make test`). A crash, a sanitizer report or a violated property fails.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0; count=0
for dir in tests/fuzz/seeds/*/; do
	t=$(basename "$dir")
	bin=build/asan/fuzz-replay/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL $t: $bin is missing (make fuzz-replay)"; failed=$((failed + 1)); continue
	fi
	set -- "$dir"
	[ -d "tests/fuzz/crashes/$t" ] && set -- "$@" "tests/fuzz/crashes/$t"
	count=$((count + 1))
	if ! out=$("$bin" "$@" 2>&1); then
		echo "FAIL $t"; echo "$out" | tail -30; failed=$((failed + 1))
	else
		echo "$t: $out"
	fi
done
echo "fuzz_replay.sh: $((count - failed)) of $count targets clean"
[ $failed -eq 0 ] && [ $count -gt 0 ]
