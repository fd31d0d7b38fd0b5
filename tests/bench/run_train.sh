# Sourced by tests/bench/run.sh: training and evaluation throughput (issue 4)
# of the benchmark configurations — GPT-2 4 layers, 4 heads, d=256 and a
# 2-layer LSTM d=256, vocabulary 8192, AdamW, batch 8 x context 64 — on the
# KJV text, beside the same models in PyTorch on random tokens; training
# also at batch 32 x context 256 (keys train_<arch>_b32x256). Training
# tokens/s are taken between update 5 and the last from logs/train.csv (so
# tokenizer training and set-up are not counted); evaluation tokens/s is
# `lmscope eval` on corpora/kjv.valid.txt with windows of 64, stride 63 (each
# token scored once, like a batch of independent windows), wall clock.
# lmscope runs at both thread counts (LMSCOPE_THREADS unset, then 1), like
# the engine rows; the report quotes the better.
echo "== training and evaluation (issue 4)"
[ -f corpora/kjv.train.txt ] || make --no-print-directory corpora/kjv.txt
tb=$(mktemp -d)
head -4000 corpora/kjv.train.txt > "$tb/corpus.txt"
# train_rate ARCH B T STEPS KEY: lmscope's training tokens/s from update 5 on
train_rate() {
	./lmscope train "$tb/corpus.txt" -o "$tb/$1-$2x$3" --arch $1 --layers $([ $1 = gpt2 ] && echo 4 || echo 2) \
		--heads 4 --embd 256 --hidden 256 --context $3 --batch $2 --vocab-size 8192 --steps $4 \
		--warmup 5 --valid-frac 0.01 --valid-tokens 64 2> /dev/null
	$PY - "$tb/$1-$2x$3/logs/train.csv" $5 $(($2 * $3)) <<'PYEOF' | tee -a "$out"
import csv, sys
rows = {int(r["step"]): float(r["tokens_per_s"]) for r in csv.DictReader(open(sys.argv[1]))}
n, a, per = max(rows), 5, int(sys.argv[3])
t_n, t_a = n * per / rows[n], a * per / rows[a]
print("lms RESULT %s %.1f tok/s" % (sys.argv[2], (n - a) * per / (t_n - t_a)))
PYEOF
}
for threads in "" 1; do
	export LMSCOPE_THREADS=$threads
	for arch in gpt2 lstm; do
		rm -rf "$tb/$arch-8x64" "$tb/$arch-32x256"
		train_rate $arch 8 64 30 train_$arch
		t0=$(date +%s.%N)
		ntok=$(./lmscope eval "$tb/$arch-8x64" corpora/kjv.valid.txt --stride 63 --batch 8 --json |
			$PY -c 'import json, sys; print(json.load(sys.stdin)["tokens"])')
		t1=$(date +%s.%N)
		$PY -c 'import sys; n, a, b = map(float, sys.argv[1:4]); print("lms RESULT eval_%s %.1f tok/s" % (sys.argv[4], n / (b - a)))' \
			"$ntok" "$t0" "$t1" $arch | tee -a "$out"
		train_rate $arch 32 256 12 train_${arch}_b32x256
	done
done
unset LMSCOPE_THREADS
rm -rf "$tb"
torch_best tests/bench/torch_train.py 20
torch_best tests/bench/torch_train.py 6 32 256
