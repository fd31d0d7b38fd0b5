# Sourced by tests/bench/run.sh: issue 5's explorer update (the engine
# thread's work for one keystroke) at context 64 on the default model (goal:
# under 10 ms median) and on a GPT-2-small-sized model with random weights
# (goal: full forward + saliency under 150 ms), and resident memory at
# context 1024 on the latter (goal: under 1 GB); and one step of the
# training timeline (another snapshot's weights, then the update) on
# snapshots of the default model, made by fine-tuning it for a few updates.
echo "== explorer (issue 5)"
if [ -f models/kjv-transformer/config.json ]; then
	lms explorer models/kjv-transformer 64
else
	echo "(no models/kjv-transformer yet: a random model of its shape stands in)"
	lms explorer default-shape 64
fi
lms explorer gpt2-small 64
lms explorer gpt2-small 1024
if [ -f models/kjv-transformer/config.json ]; then
	text=corpora/kjv.valid.txt
	[ -f "$text" ] || text=README.md
	rm -rf build/bench-timeline
	./lmscope --threads 1 train "$text" --init models/kjv-transformer -o build/bench-timeline \
		--steps 4 --batch 4 --snapshot-every 1 --warmup 1 --lr 1e-5 2> build/bench-timeline.log &&
		lms timeline build/bench-timeline 64
fi
