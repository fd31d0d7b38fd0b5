#!/bin/sh
# make bench: every workload of build/bench beside its reference, in one run.
# PyTorch is timed at both thread settings that are fastest on small machines
# (1 torch thread with OPENBLAS_NUM_THREADS=2; 2 threads with a passive OpenMP
# wait policy) and the better one is quoted.
set -u
out=build/bench-results.txt
: > "$out"
B=build/bench
PY=/usr/bin/python3
# Both sides run on the kernel lmscope runs on when nothing names one:
# OpenBLAS's own choice, or, where it falls back to older kernels on a
# processor it does not know, the one lms_blas_better_core names. An
# OPENBLAS_CORETYPE (and the OPENBLAS_L2_SIZE that goes with it) in the
# environment is set aside, as `make models` sets it aside: on this
# project's AVX-512 machine an environment naming Haswell halves sgemm's
# rate. `make bench BLAS_CORE=Haswell` names a kernel.
unset OPENBLAS_L2_SIZE
if [ -n "${BENCH_CORE:-}" ]; then
	export OPENBLAS_CORETYPE="$BENCH_CORE"
else
	unset OPENBLAS_CORETYPE
	core=$("$B" blascore)
	[ -n "$core" ] && export OPENBLAS_CORETYPE="$core"
fi
torch_core=$($PY -c "import torch, ctypes; f = ctypes.CDLL('libopenblas.so.0').openblas_get_corename; f.restype = ctypes.c_char_p; print(f().decode())" 2>/dev/null)
echo "OpenBLAS kernel: lmscope $("$B" corename), PyTorch ${torch_core:-unknown}" | tee -a "$out"
lms() { "$B" "$@" | sed 's/^/lms /' | tee -a "$out"; }
torch_best() {
	script=$1; shift
	OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=1 $PY -c "import torch,runpy,sys; torch.set_num_threads(1); sys.argv=['x']+sys.argv[1:]; runpy.run_path('$script', run_name='__main__')" "$@" | sed 's/^/torch /' >> "$out"
	OMP_WAIT_POLICY=PASSIVE $PY -c "import torch,runpy,sys; torch.set_num_threads(2); sys.argv=['x']+sys.argv[1:]; runpy.run_path('$script', run_name='__main__')" "$@" | sed 's/^/torch /' >> "$out"
}
echo "== engine (issue 2)"
lms engine sgemm
for arch in gpt2 lstm; do
	for n in 16 64 256; do
		# lmscope too at both thread counts (the default uses every core;
		# on a busy machine one thread is often faster): the better is quoted
		lms engine $arch $n
		LMSCOPE_THREADS=1 "$B" engine $arch $n | sed 's/^/lms /' >> "$out"
		torch_best tests/bench/torch_engine.py $arch $n
	done
done
for extra in tests/bench/run_*.sh; do
	[ -f "$extra" ] && . "$extra"
done
echo
$PY tests/bench/report.py "$out"
