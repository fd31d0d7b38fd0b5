#!/bin/sh
# llama2.c files on the command line:
# - the real Llama 2 tokenizer (../shared/tokenizers/llama2/tokenizer.bin)
#   on hard cases, against an independent Python implementation of
#   llama2.c's encode() written below (sentencepiece itself is not here);
# - stories260K.bin: convert to a model directory and back through explain
#   (the same numbers), generate by ids;
# - bad files: a truncated checkpoint, an absurd header, a truncated
#   tokenizer, a tokenizer that does not fit the model — a one-line error
#   and exit status 4, never a crash.
LMSCOPE=${LMSCOPE:-./lmscope}
PY=/usr/bin/python3
MODEL=../shared/models/llama2c/stories260K.bin
TOKDIR=../shared/tokenizers/llama2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "llama.sh: $*" >&2; exit 1; }
# Both files are external (../shared beside the project) and every part
# below needs one of them: without them the whole test is skipped (77).
for f in "$MODEL" "$TOKDIR/tokenizer.bin"; do
	[ -f "$f" ] || { echo "SKIP: llama.sh: $f missing"; exit 77; }
done

# ---- the tokenizer ---------------------------------------------------------
cat > "$tmp/lines.txt" <<'EOF'
Hello world
Once upon a time, there was a little girl named Lily.
  two leading spaces and trailing  
tabs	and
newlines

I'm can't won't they'll 1234567 3.14159 $100
café naïve résumé Ærøskøbing
日本語のテキスト 中文 한국어
emoji 🤖🎉 and ⚠️ signs
<s> </s> <unk> <0x41> literal specials
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    indented(code) { return x->y[0]; }
ǅ ﬁ Ωmega — “quotes” … ₂ ½ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢
EOF
i=0
while IFS= read -r line; do
	i=$((i + 1))
	printf '%s' "$line" > "$tmp/case$i.txt"
	"$LMSCOPE" tokenize "$TOKDIR" "$tmp/case$i.txt" --json > "$tmp/case$i.json" 2> "$tmp/err" ||
		fail "tokenize case $i: $(cat "$tmp/err")"
done < "$tmp/lines.txt"
# raw bytes: invalid UTF-8, a stray continuation byte, a truncated character
printf 'ok\377\200x\342\202 end' > "$tmp/case0.txt"
"$LMSCOPE" tokenize "$TOKDIR" "$tmp/case0.txt" --json > "$tmp/case0.json" 2> "$tmp/err" ||
	fail "tokenize raw bytes: $(cat "$tmp/err")"
# a longer text: a few kilobytes mixing all of the above
for k in 1 2 3 4 5 6; do cat "$tmp/lines.txt"; done > "$tmp/case99.txt"
"$LMSCOPE" tokenize "$TOKDIR" "$tmp/case99.txt" --json > "$tmp/case99.json" 2> "$tmp/err" ||
	fail "tokenize long text: $(cat "$tmp/err")"

cat > "$tmp/encode.py" <<'PYEOF'
"""llama2.c's encode(), written from its description: a dummy-prefix space,
UTF-8 characters looked up whole or split into byte pieces (id = byte + 3),
then repeatedly merge the adjacent pair whose concatenation is the
best-scoring piece (leftmost on ties), rescanning every time."""
import glob, json, os, struct, sys

tmp, tokfile = sys.argv[1], sys.argv[2]
data = open(tokfile, "rb").read()
pos = 4
pieces, scores = [], []
while pos < len(data):
    score, n = struct.unpack_from("<fi", data, pos)
    pos += 8
    pieces.append(data[pos:pos + n])
    scores.append(score)
    pos += n
lookup = {p: i for i, p in enumerate(pieces)}


def encode(text):
    toks = [lookup[b" "]] if text else []
    buf = b""
    for i, c in enumerate(text):
        if c & 0xC0 != 0x80:
            buf = b""
        buf += bytes([c])
        nxt = text[i + 1] if i + 1 < len(text) else 0
        if nxt & 0xC0 == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            toks.append(lookup[buf])
        else:
            toks.extend(b + 3 for b in buf)
        buf = b""
    while True:
        best, best_id, best_i = -1e10, -1, -1
        for i in range(len(toks) - 1):
            j = lookup.get(pieces[toks[i]] + pieces[toks[i + 1]])
            if j is not None and scores[j] > best:
                best, best_id, best_i = scores[j], j, i
        if best_i < 0:
            return toks
        toks[best_i:best_i + 2] = [best_id]


bad = 0
files = sorted(glob.glob(os.path.join(tmp, "case*.txt")))
for f in files:
    text = open(f, "rb").read()
    want = encode(text)
    got = json.load(open(f[:-4] + ".json"))["ids"]
    if got != want:
        bad += 1
        k = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        print("%s: %r\n  lmscope %s\n  python  %s" % (os.path.basename(f), text[:60],
              got[max(0, k - 3):k + 5], want[max(0, k - 3):k + 5]))
print("%d texts, %d differ" % (len(files), bad))
sys.exit(1 if bad or len(files) < 10 else 0)
PYEOF
$PY "$tmp/encode.py" "$tmp" "$TOKDIR/tokenizer.bin" || fail "encodings differ from llama2.c's algorithm"
# and two encodings known from Llama 2's own sentencepiece model
for pair in "Hello world:15043,3186" "Once upon a time:9038,2501,263,931"; do
	got=$("$LMSCOPE" tokenize "$TOKDIR" --text "${pair%%:*}" --json | $PY -c 'import json, sys; print(",".join(map(str, json.load(sys.stdin)["ids"])))')
	[ "$got" = "${pair#*:}" ] || fail "\"${pair%%:*}\": $got, want ${pair#*:}"
done

# ---- the checkpoint ---------------------------------------------------------
"$LMSCOPE" convert "$MODEL" -o "$tmp/s260" > /dev/null 2> "$tmp/err" || fail "convert: $(cat "$tmp/err")"
[ -f "$tmp/s260/config.json" ] && [ -f "$tmp/s260/model.safetensors" ] || fail "convert wrote no model directory"
grep -q '"model_type": *"llama"' "$tmp/s260/config.json" || fail "config.json is not a llama config"
for ids in 1 1,400,300,25 1,13,42,99,7,311,500,2,0,0,3; do
	"$LMSCOPE" explain "$MODEL" --ids "$ids" --top 512 --json > "$tmp/a.json" || fail "explain .bin $ids"
	"$LMSCOPE" explain "$tmp/s260" --ids "$ids" --top 512 --json > "$tmp/b.json" || fail "explain dir $ids"
	$PY - "$tmp/a.json" "$tmp/b.json" <<'PYEOF' || fail "converted model differs on $ids"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
pa = {t["id"]: t["logprob"] for t in a["top"]}
pb = {t["id"]: t["logprob"] for t in b["top"]}
assert len(pa) == 512 and pa.keys() == pb.keys()
worst = max(abs(pa[k] - pb[k]) for k in pa)
assert worst <= 1e-5, worst
sa, sb = a["saliency"]["scores"], b["saliency"]["scores"]
assert max(abs(x - y) / max(1e-6, abs(x)) for x, y in zip(sa, sb)) <= 1e-4
PYEOF
done
# float16 storage loads too, within float16 precision
"$LMSCOPE" convert "$MODEL" -o "$tmp/s260h" --f16 > /dev/null || fail "convert --f16"
"$LMSCOPE" explain "$tmp/s260h" --ids 1,400,300 --json > /dev/null || fail "explain f16 directory"

# generation by ids (no tokenizer): greedy is deterministic
"$LMSCOPE" generate "$MODEL" --ids 1 -n 12 --temperature 0 --json > "$tmp/g1.json" || fail "generate .bin"
"$LMSCOPE" generate "$tmp/s260" --ids 1 -n 12 --temperature 0 --json > "$tmp/g2.json" || fail "generate dir"
$PY - "$tmp/g1.json" "$tmp/g2.json" <<'PYEOF' || fail "generate: .bin and converted directory disagree"
import json, sys
a, b = (json.load(open(f))["ids"] for f in sys.argv[1:3])
assert len(a) == 12 and a == b, (a, b)
PYEOF

# a small random model with the Llama 2 tokenizer's 32000 ids: text in, by
# the .bin with --tokenizer and by its converted directory (tokenizer.bin beside)
$PY - "$tmp/r32k.bin" <<'PYEOF' || fail "cannot write the 32000-token model"
import random, struct, sys
C, H, L, NH, KV, V, T = 8, 12, 1, 2, 1, 32000, 64
hs = C // NH
n = V * C + L * (2 * C + 2 * C * C + 2 * KV * hs * C + 3 * H * C) + C + T * hs
rng = random.Random(5)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("7i", C, H, L, NH, KV, V, T))
    f.write(struct.pack("%df" % n, *(rng.gauss(0, 0.5) for _ in range(n))))
PYEOF
TEXT="Once upon a time, a café"
"$LMSCOPE" tokenize "$TOKDIR/tokenizer.bin" --text "$TEXT" --json > "$tmp/t.json" || fail "tokenize tokenizer.bin"
"$LMSCOPE" tokenize "$TOKDIR/tokenizer.bin" --text "$TEXT" --json --bos > "$tmp/tb.json" ||
	fail "tokenize --bos tokenizer.bin"
"$LMSCOPE" explain "$tmp/r32k.bin" --tokenizer "$TOKDIR/tokenizer.bin" --text "$TEXT" --json > "$tmp/e1.json" ||
	fail "explain .bin --tokenizer --text"
"$LMSCOPE" convert "$tmp/r32k.bin" --tokenizer "$TOKDIR/tokenizer.bin" -o "$tmp/r32k" > /dev/null || fail "convert --tokenizer"
cmp -s "$tmp/r32k/tokenizer.bin" "$TOKDIR/tokenizer.bin" || fail "convert: tokenizer.bin not copied exactly"
"$LMSCOPE" explain "$tmp/r32k" --text "$TEXT" --json > "$tmp/e2.json" || fail "explain converted directory --text"
$PY - "$tmp/t.json" "$tmp/e1.json" "$tmp/e2.json" "$tmp/tb.json" <<'PYEOF' || fail "text through .bin, directory and tokenize disagree"
import json, sys
t, a, b, tb = (json.load(open(f)) for f in sys.argv[1:5])
assert tb["ids"] == a["ids"] and tb["offsets"] == [0] + t["offsets"], (tb, t)
# llama2.c feeds every prompt as BOS (id 1) then the text; tokenize shows the raw encoding
assert [1] + t["ids"] == a["ids"] == b["ids"], (t["ids"], a["ids"], b["ids"])
assert a["tokens"] == b["tokens"] == ["<s>"] + t["tokens"], (a["tokens"], t["tokens"])
assert abs(a["target"]["logprob"] - b["target"]["logprob"]) < 1e-5
PYEOF
# the same context by ids, BOS written out: the same prediction
"$LMSCOPE" explain "$tmp/r32k.bin" --ids "1,$($PY -c 'import json, sys; print(",".join(map(str, json.load(open(sys.argv[1]))["ids"])))' "$tmp/t.json")" \
	--json > "$tmp/e3.json" || fail "explain .bin --ids"
$PY - "$tmp/e1.json" "$tmp/e3.json" <<'PYEOF' || fail "--text and BOS + its ids predict differently"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["ids"] == b["ids"] and a["target"]["id"] == b["target"]["id"]
assert abs(a["target"]["logprob"] - b["target"]["logprob"]) < 1e-6
PYEOF

# importance reads a file (or with --lines each line) as a document the same
# way: "Once upon" is two text tokens, three with BOS: two windows of one
# position from the file, one example of two positions from each line
# (without BOS, too few tokens for either)
printf 'Once upon' > "$tmp/doc.txt"
printf 'Once upon\nOnce upon\n' > "$tmp/lines.txt"
"$LMSCOPE" importance "$tmp/r32k" "$tmp/doc.txt" --positions 1 --json > "$tmp/i1.json" 2> "$tmp/err" ||
	fail "importance: $(cat "$tmp/err")"
"$LMSCOPE" importance "$tmp/r32k" "$tmp/lines.txt" --lines --positions 2 --json > "$tmp/i2.json" 2> "$tmp/err" ||
	fail "importance --lines: $(cat "$tmp/err")"
$PY - "$tmp/i1.json" "$tmp/i2.json" <<'PYEOF' || fail "importance does not read BOS first"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["examples"] == 2 and b["examples"] == 2, (a["examples"], b["examples"])
PYEOF

# eval and generate read text the same way: BOS, then the text (llama2.c's
# convention); eval's cross-entropy against explain's log p of each token in turn
"$LMSCOPE" eval "$tmp/r32k.bin" --tokenizer "$TOKDIR/tokenizer.bin" "$tmp/case2.txt" --json > "$tmp/ev.json" ||
	fail "eval .bin --tokenizer"
"$LMSCOPE" tokenize "$TOKDIR/tokenizer.bin" "$tmp/case2.txt" --json > "$tmp/tk.json" || fail "tokenize case2"
$PY - "$tmp/ev.json" "$tmp/tk.json" "$LMSCOPE" "$tmp/r32k.bin" <<'PYEOF' || fail "eval does not score every token after BOS"
import json, subprocess, sys
ev, tk = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert len(tk["ids"]) <= 64
nll = []
for i in range(1, len(tk["ids"]) + 1):
    ctx = ([1] + tk["ids"])[:i]
    out = subprocess.run([sys.argv[3], "explain", sys.argv[4], "--ids", ",".join(map(str, ctx)),
                          "--target-id", str(([1] + tk["ids"])[i]), "--json"],
                         check=True, capture_output=True, text=True).stdout
    nll.append(-json.loads(out)["target"]["logprob"])
assert ev["tokens"] == len(tk["ids"]), (ev["tokens"], len(tk["ids"]))
ce = sum(nll) / len(nll)
assert abs(ev["cross_entropy"] - ce) < 1e-4 * max(1.0, ce), (ev["cross_entropy"], ce)
PYEOF
"$LMSCOPE" generate "$tmp/r32k.bin" --tokenizer "$TOKDIR/tokenizer.bin" --text "$TEXT" -n 3 --temperature 0 \
	--json > "$tmp/gen.json" || fail "generate .bin --tokenizer --text"
$PY - "$tmp/gen.json" "$tmp/e1.json" <<'PYEOF' || fail "generate does not start the prompt with BOS"
import json, sys
g, e = (json.load(open(f)) for f in sys.argv[1:3])
assert g["prompt_ids"] == e["ids"] and g["prompt_ids"][0] == 1, (g["prompt_ids"], e["ids"])
assert g["ids"][0] == e["top"][0]["id"], (g["ids"], e["top"][0])
PYEOF

# ---- bad files ------------------------------------------------------------------
# expect_fail NAME COMMAND...: exit status 4 and one line naming the problem
expect_fail() {
	name=$1; shift
	"$@" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq 4 ] || fail "$name: exit status $rc, want 4 ($(cat "$tmp/err"))"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$name: want one line of error, got: $(cat "$tmp/err")"
	grep -q '^lmscope: ' "$tmp/err" || fail "$name: error without the lmscope: prefix"
}
head -c 100000 "$MODEL" > "$tmp/short.bin"
expect_fail "truncated checkpoint" "$LMSCOPE" info "$tmp/short.bin"
grep -q "header implies" "$tmp/err" || fail "truncated checkpoint: $(cat "$tmp/err")"
$PY -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("7i", 1 << 30, 1 << 30, 100, 8, 8, 32000, 1 << 30))' > "$tmp/huge.bin"
expect_fail "absurd header" "$LMSCOPE" info "$tmp/huge.bin"
printf 'abc' > "$tmp/tiny.bin"
expect_fail "file shorter than a header" "$LMSCOPE" info "$tmp/tiny.bin"
head -c 200000 "$TOKDIR/tokenizer.bin" > "$tmp/tokcut.bin"
expect_fail "truncated tokenizer" "$LMSCOPE" info "$MODEL" --tokenizer "$tmp/tokcut.bin"
grep -q "tokcut.bin" "$tmp/err" || fail "truncated tokenizer: message does not name the file"
# 32000 pieces for a 512-token model
expect_fail "tokenizer of another model" "$LMSCOPE" info "$MODEL" --tokenizer "$TOKDIR/tokenizer.bin"
echo "llama.sh: ok"
