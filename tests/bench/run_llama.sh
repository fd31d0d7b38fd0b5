# Sourced by tests/bench/run.sh: issue 7's Llama workloads on stories260K.
# Greedy generation beside a straightforward single-thread C loop over the
# same weights (llama2.c's design, in bench_llama.c); goal: at least as many
# tokens/s. Then the explorer's keystroke and forward + backward at context 64.
echo "== llama (issue 7)"
LLAMA_BIN=../shared/models/llama2c/stories260K.bin
if [ -f "$LLAMA_BIN" ]; then
	# OpenBLAS at 1 and at 2 threads (tiny matrices: 1 is often faster); the
	# report keeps the better of the two
	for th in 1 2; do
		echo "(LMSCOPE_THREADS=$th)"
		LMSCOPE_THREADS=$th "$B" llama "$LLAMA_BIN" | grep -v '^ids' | sed 's/^/lms /' | tee -a "$out"
	done
	"$B" llama-baseline "$LLAMA_BIN" | grep -v '^ids' | sed 's/^/c-loop /' | tee -a "$out"
	# for information only (not in the report): OpenBLAS falls back to its SSE3
	# kernels on CPUs it does not know; naming the AVX-512/AVX2 kernel shows
	# what this machine can do
	core=$(grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo SkylakeX || echo Haswell)
	echo "(LMSCOPE_THREADS=1 OPENBLAS_CORETYPE=$core, not in the report)"
	OPENBLAS_CORETYPE=$core LMSCOPE_THREADS=1 "$B" llama "$LLAMA_BIN" | grep -v '^ids'
	a=$("$B" llama "$LLAMA_BIN" | grep '^ids'); b=$("$B" llama-baseline "$LLAMA_BIN" | grep '^ids')
	[ "$a" = "$b" ] || echo "(llama: lmscope's greedy ids differ from the C loop's)"
else
	echo "(no $LLAMA_BIN: skipped)"
fi
