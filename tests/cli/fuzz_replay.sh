#!/bin/sh
# Replays every committed fuzz input — the seeds and each crash a fuzzer
# once found (tests/fuzz/seeds/<target>/, tests/fuzz/crashes/<target>/) —
# through the fuzz targets linked with a plain main under ASan + UBSan
# (build/asan/fuzz-replay/<target>, built by `make fuzz-replay`, part of
# `make test`). A crash, a sanitizer report or a violated property fails.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The targets of GPT-2's and Llama 2's real tokenizers read their files from
# ../shared beside the project (external); without them those targets are
# skipped, one line each, and the rest replay.
needs() {
	case "$1" in
	tok_bpe) echo ../shared/tokenizers/gpt2/encoder.json ../shared/tokenizers/gpt2/vocab.bpe ;;
	tok_spm) echo ../shared/tokenizers/llama2/tokenizer.bin ;;
	esac
}
failed=0; count=0
for dir in tests/fuzz/seeds/*/; do
	t=$(basename "$dir")
	bin=build/asan/fuzz-replay/$t
	missing=
	for f in $(needs "$t"); do
		[ -f "$f" ] || { missing=$f; break; }
	done
	if [ -n "$missing" ]; then
		echo "SKIP: fuzz_replay.sh $t: $missing missing"; continue
	fi
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
