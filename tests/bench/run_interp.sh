# Sourced by tests/bench/run.sh: issue 15's causal workloads beside PyTorch.
echo "== causal interventions (issue 15)"
lms interp patch kjv 32
torch_best tests/bench/torch_interp.py patch kjv 32
lms interp heads gpt2s 50
torch_best tests/bench/torch_interp.py heads gpt2s 50
lms interp patch gpt2s 32
torch_best tests/bench/torch_interp.py patch gpt2s 32
