# Sourced by tests/bench/run.sh: evaluation throughput at GPT-2 small's
# shape (124M parameters, random weights), windows of 64 with stride 63,
# batch 8 (issue 14), beside the same model shape in PyTorch without
# gradients. lmscope is timed at both thread counts, like the engine rows.
echo "== evaluation at GPT-2-small size (issue 14)"
lms eval gpt2-small 64 8 32
LMSCOPE_THREADS=1 "$B" eval gpt2-small 64 8 32 | sed 's/^/lms /' >> "$out"
torch_best tests/bench/torch_eval.py 64 8 32
