# Sourced by tests/bench/run.sh: tokenizer speeds (issue 3) beside tiktoken's
# npm WASM build, installed by `make build/npm/node_modules/tiktoken` into the
# build directory (never committed). Goals: word-level >= 20 MB/s, GPT-2 BPE
# >= 5 MB/s.
echo "== tokenizers (issue 3)"
[ -f corpora/kjv.txt ] || make --no-print-directory corpora/kjv.txt
lms tokenizer corpora/kjv.txt
if make --no-print-directory build/npm/node_modules/tiktoken >/dev/null 2>&1; then
	./lmscope tokenize ../shared/tokenizers/gpt2 corpora/kjv.txt --json > build/bench-kjv-ids.json
	node tests/bench/tiktoken_bench.js build/npm/node_modules corpora/kjv.txt build/bench-kjv-ids.json \
		| sed 's/^/tiktoken /' | tee -a "$out"
else
	echo "(tiktoken could not be installed from npm: no side-by-side figure)"
fi
