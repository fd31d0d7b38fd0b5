# Sourced by tests/bench/run.sh: issue 6's attribution workloads beside PyTorch.
# lmscope is timed at both thread counts, like the engine and evaluation
# rows (on a busy machine one thread is often faster): the better is quoted.
echo "== attribution (issue 6)"
for w in ig lime; do
	lms attribution $w 64
	LMSCOPE_THREADS=1 "$B" attribution $w 64 | sed 's/^/lms /' >> "$out"
	torch_best tests/bench/torch_attribution.py $w 64
done
