# Sourced by tests/bench/run.sh: issue 13's GGUF workloads on random weights
# of TinyLlama-1.1B's and SmolLM2-135M's shapes, as Q4_K_M and Q8_0 files
# written by bench gguf-make (under build/gguf-bench, kept between runs):
# load time, resident memory against the file size, keystroke-to-candidates
# and the full update with saliency at context 64, beside PyTorch on float32
# weights of the same shape. Goals: keystroke <= 80 ms (TinyLlama Q4_K_M),
# <= 30 ms (SmolLM2), resident memory <= 1.2x the file plus activations.
echo "== gguf (issue 13)"
mkdir -p build/gguf-bench
for shape in smollm2 tinyllama; do
	for type in Q4_K_M Q8_0; do
		f=build/gguf-bench/$shape-$type.gguf
		[ -f "$f" ] || "$B" gguf-make "$f" $shape $type || continue
		lms gguf "$f" "${shape}_$type"
		torch_best tests/bench/torch_gguf.py $shape "${shape}_$type"
	done
done
