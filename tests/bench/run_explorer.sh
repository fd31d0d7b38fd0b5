# Sourced by tests/bench/run.sh: issue 5's explorer update (the engine
# thread's work for one keystroke) at context 64 on the default model (goal:
# under 10 ms median) and on a GPT-2-small-sized model with random weights
# (goal: full forward + saliency under 150 ms), and resident memory at
# context 1024 on the latter (goal: under 2 GB).
echo "== explorer (issue 5)"
if [ -f models/kjv-transformer/config.json ]; then
	lms explorer models/kjv-transformer 64
else
	echo "(no models/kjv-transformer yet: a random model of its shape stands in)"
	lms explorer default-shape 64
fi
lms explorer gpt2-small 64
lms explorer gpt2-small 1024
