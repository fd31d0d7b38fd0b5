#!/bin/sh
# The validation figures of models/README.md: each KJV model's perplexity on
# corpora/kjv.valid.txt (lmscope eval: sliding windows of the model's context,
# stride half of it), and the count-based baseline on the very same token
# stream: IRSTLM's tlm, improved Kneser-Ney trigram, trained on the
# kjv-transformer tokenizer's tokens of corpora/kjv.train.txt. tlm is given
# the vocabulary size as its dictionary upper bound (-dub), so <unk> counts as
# one token as it does for the neural models; the figure with tlm's default
# OOV penalty (an open vocabulary of 10^7 words) is printed too.
LMSCOPE=${LMSCOPE:-./lmscope}
TLM=/usr/lib/irstlm/bin/tlm
PY=/usr/bin/python3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
set -e

for m in kjv-transformer kjv-lstm; do
	[ -d models/$m ] || continue
	"$LMSCOPE" eval models/$m corpora/kjv.valid.txt --json > "$tmp/$m.json"
	$PY -c 'import json, sys; e = json.load(open(sys.argv[1]))
print("%-16s tokens %d  cross-entropy %.4f nats  bits/token %.3f  perplexity %.2f  <unk> %.2f%%" %
      (sys.argv[2], e["tokens"], e["cross_entropy"], e["bits_per_token"], e["perplexity"], 100 * e["unk_rate"]))' \
		"$tmp/$m.json" $m
done

# the token stream as text, one sentence per line (tlm reads words)
lines='import json, sys
line = []
for t in json.load(sys.stdin)["tokens"]:
    line.append(t)
    if t in (".", "?", "!"):
        print(" ".join(line)); line = []
if line:
    print(" ".join(line))'
"$LMSCOPE" tokenize models/kjv-transformer --json corpora/kjv.train.txt | $PY -c "$lines" > "$tmp/train.tok"
"$LMSCOPE" tokenize models/kjv-transformer --json corpora/kjv.valid.txt | $PY -c "$lines" > "$tmp/valid.tok"
V=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["vocab_size"])' models/kjv-transformer/config.json)
pp() { sed -n 's/.*PP=\([0-9.]*\).*/\1/p' | tail -1; }
closed=$(cd "$tmp" && $TLM -tr=train.tok -te=valid.tok -n=3 -lm=ikn -dub=$V 2>&1 | pp)
open=$(cd "$tmp" && $TLM -tr=train.tok -te=valid.tok -n=3 -lm=ikn 2>&1 | pp)
n=$(wc -w < "$tmp/valid.tok")
printf '%-16s tokens %d  perplexity %.2f (with tlm'"'"'s open-vocabulary <unk> penalty: %.2f)\n' \
	"IRSTLM ikn 3-gram" "$n" "$closed" "$open"
