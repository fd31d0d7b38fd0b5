#!/bin/sh
# The validation figures of models/README.md, for one corpus: kjv (the
# default) or zh. Each of the corpus's models' perplexity on its validation
# text (lmscope eval: sliding windows of the model's context, stride half of
# it), and the count-based baseline on the very same token stream: IRSTLM's
# tlm, improved Kneser-Ney trigram, trained on the first model's tokens of
# the training text. tlm is given the vocabulary size as its dictionary upper
# bound (-dub), so <unk> counts as one token as it does for the neural models;
# the figure with tlm's default OOV penalty (an open vocabulary of 10^7 words)
# is printed too.
#   kjv: corpora/kjv.valid.txt, kjv-transformer and kjv-lstm (words; tlm's
#        sentences end after . ? !)
#   zh:  corpora/zh.valid.txt, zh-transformer (characters; tlm's sentences are
#        the text's lines)
LMSCOPE=${LMSCOPE:-./lmscope}
TLM=/usr/lib/irstlm/bin/tlm
PY=/usr/bin/python3
case ${1:-kjv} in
kjv) models="kjv-transformer kjv-lstm" ends='[".", "?", "!"]' ;;
zh) models="zh-transformer" ends='["\n"]' ;;
*) echo "usage: evaluate.sh [kjv|zh]" >&2; exit 2 ;;
esac
corpus=${1:-kjv}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
set -e

for m in $models; do
	[ -d models/$m ] || continue
	"$LMSCOPE" eval models/$m corpora/$corpus.valid.txt --json > "$tmp/$m.json"
	$PY -c 'import json, sys; e = json.load(open(sys.argv[1]))
print("%-16s tokens %d  cross-entropy %.4f nats  bits/token %.3f  perplexity %.2f  <unk> %.2f%%" %
      (sys.argv[2], e["tokens"], e["cross_entropy"], e["bits_per_token"], e["perplexity"], 100 * e["unk_rate"]))' \
		"$tmp/$m.json" $m
done

# the token stream as text, one sentence per line (tlm reads words, and
# predicts every word of its text, the line ends none); a newline token is
# the word <newline>, so that tlm predicts the line ends the models predict
lines='import json, sys
ends = json.loads(sys.argv[1])
line = []
for t in json.load(sys.stdin)["tokens"]:
    line.append("<newline>" if t == "\n" else t)
    if t in ends:
        print(" ".join(line)); line = []
if line:
    print(" ".join(line))'
tok=models/${models%% *}
"$LMSCOPE" tokenize $tok --json corpora/$corpus.train.txt | $PY -c "$lines" "$ends" > "$tmp/train.tok"
"$LMSCOPE" tokenize $tok --json corpora/$corpus.valid.txt | $PY -c "$lines" "$ends" > "$tmp/valid.tok"
V=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["vocab_size"])' $tok/config.json)
pp() { sed -n 's/.*PP=\([0-9.]*\).*/\1/p' | tail -1; }
closed=$(cd "$tmp" && $TLM -tr=train.tok -te=valid.tok -n=3 -lm=ikn -dub=$V 2>&1 | pp)
open=$(cd "$tmp" && $TLM -tr=train.tok -te=valid.tok -n=3 -lm=ikn 2>&1 | pp)
n=$(wc -w < "$tmp/valid.tok")
printf '%-16s tokens %d  perplexity %.2f (with tlm'"'"'s open-vocabulary <unk> penalty: %.2f)\n' \
	"IRSTLM ikn 3-gram" "$n" "$closed" "$open"
