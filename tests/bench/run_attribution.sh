# Sourced by tests/bench/run.sh: issue 6's attribution workloads beside PyTorch.
echo "== attribution (issue 6)"
for w in ig lime; do
	lms attribution $w 64
	torch_best tests/bench/torch_attribution.py $w 64
done
