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
# OpenBLAS falls back to generic kernels on processors it does not know;
# both sides then get the kernels this processor can run, as lmscope does.
core=$("$B" blascore)
[ -n "$core" ] && export OPENBLAS_CORETYPE="$core" && echo "OPENBLAS_CORETYPE=$core for lmscope and PyTorch alike"
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
