# Sourced by tests/bench/run.sh: issue 13's Hugging Face Llama workloads on
# random BF16 checkpoints of TinyLlama-1.1B's and SmolLM2-135M's shapes
# (written once into build/bench-models by make_hf_llama.py; 2.1 GB and
# 257 MB). Goals: keystroke-to-candidates at context 64 <= 150 ms
# (TinyLlama) and <= 30 ms (SmolLM2); the full update with saliency <= 2 s
# and <= 250 ms; resident memory <= 1.2x the file + activations. PyTorch
# runs the same SmolLM2-shaped model (float32 copies of the BF16 weights,
# the same 64 positions) for the saliency's forward + backward.
echo "== Hugging Face Llama, BF16 (issue 13)"
for shape in smollm2 tinyllama; do
	dir=build/bench-models/$shape-bf16
	$PY tests/bench/make_hf_llama.py $shape "$dir" || { echo "($shape: could not write $dir)"; continue; }
	for th in 1 2; do
		echo "(LMSCOPE_THREADS=$th)"
		LMSCOPE_THREADS=$th "$B" hf-llama $shape "$dir" | sed 's/^/lms /' | tee -a "$out"
	done
done
torch_best tests/bench/torch_hfllama.py build/bench-models/smollm2-bf16 smollm2
