#!/bin/sh
# lmscope train / eval / generate on a tiny corpus: every architecture learns
# (loss goes down); --stop-at + --resume and Ctrl-C + --resume give the same
# loss curve as an uninterrupted run (CSV compared row by row); a diverging
# run stops with the NaN/Inf exit status and keeps its last good checkpoint;
# the TensorBoard event file is read back by an independent decoder (its own
# CRC-32C and protobuf parsing) and agrees with the CSV; generate --json
# schema, greedy determinism, and prefix reuse against full recomputation;
# eval --json schema, perplexity == exp(cross_entropy), and the
# cross-entropy against per-position log-probs from lmscope explain;
# --dropout (GPT-2 and LSTM): 0 is no dropout byte for byte, the checkpoint
# keeps P for --resume (the same curve as uninterrupted), bad values and a
# Llama (no dropout sites) are refused in one line; --tied stores a recurrent model's output layer as its
# embedding and refuses an untied width.
LMSCOPE=${LMSCOPE:-./lmscope}
PY=/usr/bin/python3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "train.sh: $*" >&2; exit 1; }

# a tiny corpus with structure to learn: a few sentence templates
. "$(dirname "$0")/lib/corpus.sh"
tiny_corpus "$tmp/corpus.txt"

train() {
	"$LMSCOPE" --threads 1 train "$tmp/corpus.txt" --vocab-size 64 --context 16 --batch 4 \
		--embd 16 --layers 2 --heads 2 --hidden 16 --warmup 5 --lr 1e-2 --valid-every 10 "$@"
}

# ---- every architecture learns --------------------------------------------------
for arch in gpt2 lstm gru rnn; do
	train --arch $arch --steps 40 -o "$tmp/$arch" 2> "$tmp/$arch.err" || fail "$arch: $(cat "$tmp/$arch.err")"
	for f in config.json model.safetensors checkpoint/state.json checkpoint/optimizer.safetensors logs/train.csv; do
		[ -f "$tmp/$arch/$f" ] || fail "$arch: no $f"
	done
	$PY - "$tmp/$arch/logs/train.csv" <<'PYEOF' || fail "$arch: the loss did not go down"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
loss = [float(r["train_loss"]) for r in rows]
assert len(rows) == 40, len(rows)
first, last = sum(loss[:5]) / 5, sum(loss[-5:]) / 5
assert last < 0.92 * first, (first, last)
valid = [float(r["valid_loss"]) for r in rows if r["valid_loss"]]
assert len(valid) == 4 and valid[-1] < valid[0], valid
for r in rows:
    if r["valid_loss"]:
        import math
        assert abs(math.exp(float(r["valid_loss"])) - float(r["valid_perplexity"])) < 1e-3 * float(r["valid_perplexity"]) + 1e-3
PYEOF
done

# ---- resume gives the uninterrupted curve ------------------------------------------
same_curve() { # columns step .. grad_norm (tokens/s differs)
	cut -d, -f1-7 "$1" > "$tmp/a.csv"; cut -d, -f1-7 "$2" > "$tmp/b.csv"
	cmp -s "$tmp/a.csv" "$tmp/b.csv" || { diff "$tmp/a.csv" "$tmp/b.csv" | head -5 >&2; return 1; }
}
for arch in gpt2 lstm; do
	train --arch $arch --steps 30 --checkpoint-every 7 -o "$tmp/r$arch" --stop-at 12 2> "$tmp/err" ||
		fail "$arch --stop-at: $(cat "$tmp/err")"
	grep -q '"step": 12' "$tmp/r$arch/checkpoint/state.json" || fail "$arch: no checkpoint at the stop"
	train --arch $arch --steps 30 --checkpoint-every 7 -o "$tmp/r$arch" --resume 2> "$tmp/err" ||
		fail "$arch --resume: $(cat "$tmp/err")"
	train --arch $arch --steps 30 --checkpoint-every 7 -o "$tmp/u$arch" 2> "$tmp/err" || fail "$arch: $(cat "$tmp/err")"
	same_curve "$tmp/u$arch/logs/train.csv" "$tmp/r$arch/logs/train.csv" ||
		fail "$arch: the resumed run's loss curve differs from the uninterrupted one"
	cmp -s "$tmp/u$arch/model.safetensors" "$tmp/r$arch/model.safetensors" ||
		fail "$arch: the resumed run ends with other weights"
done

# ---- Ctrl-C saves a checkpoint, exits 130, and --resume continues ---------------------
# (lmscope itself in the background, not a shell function: the signal must reach it)
"$LMSCOPE" --threads 1 train "$tmp/corpus.txt" --vocab-size 64 --context 16 --batch 4 --embd 16 \
	--layers 2 --heads 2 --steps 100000000 -o "$tmp/int" 2> "$tmp/int.err" &
pid=$!
# the run is under way once it reports progress (the model directory itself
# appears only with the first checkpoint: it is built beside the target)
i=0
while [ $i -lt 600 ]; do
	[ "$(grep -c '^step ' "$tmp/int.err")" -gt 2 ] && break
	sleep 0.1; i=$((i + 1))
done
kill -INT $pid || fail "Ctrl-C: the run ended early"
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "Ctrl-C: exit $rc, want 130 ($(cat "$tmp/int.err"))"
grep -q "interrupted" "$tmp/int.err" || fail "Ctrl-C: no message"
step=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$tmp/int/checkpoint/state.json") ||
	fail "Ctrl-C: no checkpoint"
train --arch gpt2 -o "$tmp/int" --resume --stop-at $((step + 3)) 2> "$tmp/err" || fail "resume after Ctrl-C: $(cat "$tmp/err")"
grep -q "\"step\": $((step + 3))" "$tmp/int/checkpoint/state.json" || fail "resume after Ctrl-C did not continue"

# ---- a diverging run stops and keeps the last good checkpoint -------------------------
train --arch gpt2 --steps 200 --lr 1e12 --clip 0 --warmup 0 --checkpoint-every 1 -o "$tmp/nan" 2> "$tmp/nan.err"
rc=$?
[ $rc -eq 7 ] || fail "diverging run: exit $rc, want 7 ($(cat "$tmp/nan.err"))"
grep -Eq "NaN|Inf" "$tmp/nan.err" || fail "diverging run: no clear message: $(cat "$tmp/nan.err")"
"$LMSCOPE" info "$tmp/nan" > /dev/null 2>&1 || fail "diverging run: the last good model does not open"
$PY - "$tmp/nan/checkpoint/state.json" "$tmp/nan.err" <<'PYEOF' || fail "diverging run: the checkpoint is not the last good one"
import json, re, sys
step = json.load(open(sys.argv[1]))["step"]
bad = int(re.search(r"at step (\d+)", open(sys.argv[2]).read()).group(1))
assert step == bad - 1, (step, bad)
PYEOF

# ---- --resume names the options it does not take -------------------------------------
# (the checkpoint of rgpt2 above: 30 steps at lr 1e-2; it continues as it was)
train --arch lstm --tokenizer char --steps 50 --lr 0.5 -o "$tmp/rgpt2" --resume --stop-at 31 2> "$tmp/err" ||
	fail "resume with other options: $(cat "$tmp/err")"
for want in "steps 50 (checkpoint: 30)" "lr 0.5 (checkpoint: 0.01)" "arch lstm (checkpoint: gpt2)" \
	"tokenizer char (checkpoint: word)"; do
	grep -qF "ignored: " "$tmp/err" && grep -qF "$want" "$tmp/err" ||
		fail "resume with other options: '$want' not named: $(cat "$tmp/err")"
done
train --arch gpt2 --steps 30 -o "$tmp/rgpt2" --resume --stop-at 31 2> "$tmp/err"
! grep -q "ignored" "$tmp/err" || fail "resume with the same options: $(cat "$tmp/err")"

# ---- dropout: recorded, kept by --resume, drawn the same way again ---------------------
# for a Transformer and a recurrent model (arch/gpt2.c's sites, arch/rnn.c's):
# --dropout 0 is the run without it, byte for byte; 0.2 trains otherwise; a
# run stopped and resumed without naming --dropout again (the checkpoint
# holds it) gives the uninterrupted run's curve and weights, masks and all
for arch in gpt2 lstm; do
	train --arch $arch --steps 20 -o "$tmp/d0$arch" --dropout 0 2> "$tmp/err" || fail "$arch --dropout 0: $(cat "$tmp/err")"
	train --arch $arch --steps 20 -o "$tmp/dn$arch" 2> "$tmp/err" || fail "$arch $(cat "$tmp/err")"
	cmp -s "$tmp/d0$arch/model.safetensors" "$tmp/dn$arch/model.safetensors" || fail "$arch --dropout 0 changes the weights"
	same_curve "$tmp/d0$arch/logs/train.csv" "$tmp/dn$arch/logs/train.csv" || fail "$arch --dropout 0 changes the curve"
	train --arch $arch --steps 20 --checkpoint-every 7 -o "$tmp/du$arch" --dropout 0.2 2> "$tmp/err" ||
		fail "$arch --dropout 0.2: $(cat "$tmp/err")"
	! same_curve "$tmp/du$arch/logs/train.csv" "$tmp/dn$arch/logs/train.csv" 2> /dev/null || fail "$arch --dropout 0.2 changes nothing"
	grep -q '"dropout": 0.2' "$tmp/du$arch/checkpoint/state.json" || fail "$arch the checkpoint does not record --dropout"
	train --arch $arch --steps 20 --checkpoint-every 7 -o "$tmp/dr$arch" --dropout 0.2 --stop-at 9 2> "$tmp/err" ||
		fail "$arch --dropout --stop-at: $(cat "$tmp/err")"
	train --arch $arch --steps 20 --checkpoint-every 7 -o "$tmp/dr$arch" --resume 2> "$tmp/err" ||
		fail "$arch --dropout --resume: $(cat "$tmp/err")"
	same_curve "$tmp/du$arch/logs/train.csv" "$tmp/dr$arch/logs/train.csv" ||
		fail "$arch --dropout: the resumed run's curve differs from the uninterrupted one"
	cmp -s "$tmp/du$arch/model.safetensors" "$tmp/dr$arch/model.safetensors" ||
		fail "$arch --dropout: the resumed run ends with other weights"
done
# refused: outside [0, 1)
for p in 1 1.5 -0.1 nan; do
	train --arch gpt2 --steps 2 -o "$tmp/dbad" --dropout $p > /dev/null 2> "$tmp/err"
	[ $? -eq 2 ] || fail "--dropout $p: exit status ($(cat "$tmp/err"))"
	[ "$(grep -c 'lmscope: train: --dropout' "$tmp/err")" -eq 1 ] || fail "--dropout $p: $(cat "$tmp/err")"
done
[ ! -e "$tmp/dbad" ] || fail "a refused --dropout left a model directory"
# refused: a Llama (fine-tuned from --init) has no dropout sites, and says so
# rather than train without it
$PY "$(dirname "$0")/lib/llama_f16.py" "$tmp/l16" "$($PY -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/d0gpt2/vocab.json")" ||
	fail "setup: llama_f16.py"
cp "$tmp/d0gpt2/vocab.json" "$tmp/d0gpt2/tokenizer_config.json" "$tmp/l16/"
"$LMSCOPE" convert "$tmp/l16" -o "$tmp/l32" > /dev/null 2> "$tmp/err" || fail "setup: convert: $(cat "$tmp/err")"
"$LMSCOPE" --threads 1 train "$tmp/corpus.txt" --init "$tmp/l32" --steps 2 --dropout 0.2 -o "$tmp/dllama" > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] || fail "llama --dropout 0.2: exit status ($(cat "$tmp/err"))"
[ "$(grep -c '^lmscope: train: dropout is not implemented for llama models' "$tmp/err")" -eq 1 ] ||
	fail "llama --dropout 0.2: $(cat "$tmp/err")"
[ ! -e "$tmp/dllama" ] || fail "a refused llama --dropout left a model directory"

# ---- --tied: a recurrent model's output layer is its embedding ---------------------------
# stored once, named in config.json; read back by eval; an untied width is refused
train --arch lstm --tied --steps 20 -o "$tmp/tied" 2> "$tmp/err" || fail "--tied: $(cat "$tmp/err")"
grep -q '"tie_word_embeddings": true' "$tmp/tied/config.json" || fail "--tied: config.json does not say so"
$PY - "$tmp/tied/model.safetensors" <<'PYEOF' || fail "--tied: the stored tensors"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
names = set(json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])) - {"__metadata__"}
sys.exit(0 if "embedding.weight" in names and "output.bias" in names and "output.weight" not in names else 1)
PYEOF
"$LMSCOPE" eval "$tmp/tied" "$tmp/corpus.txt" > /dev/null 2> "$tmp/err" || fail "--tied: eval: $(cat "$tmp/err")"
train --arch lstm --tied --hidden 8 --steps 2 -o "$tmp/tbad" > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] || fail "--tied --hidden 8: exit status ($(cat "$tmp/err"))"
grep -q '^lmscope: train: --tied needs --hidden equal to --embd (8 and 16)$' "$tmp/err" ||
	fail "--tied --hidden 8: $(cat "$tmp/err")"

# ---- a run that fails before its first checkpoint says so -------------------------------
train --arch gpt2 --steps 200 --lr 1e12 --clip 0 --warmup 0 -o "$tmp/nan0" 2> "$tmp/nan0.err"
[ $? -eq 7 ] || fail "early divergence: exit status ($(cat "$tmp/nan0.err"))"
grep -q "no checkpoint had been written yet" "$tmp/nan0.err" ||
	fail "early divergence claims a checkpoint: $(cat "$tmp/nan0.err")"
[ ! -d "$tmp/nan0/checkpoint" ] || fail "early divergence: a checkpoint after all"

# ---- TensorBoard event file, read by an independent decoder ----------------------------
$PY - "$tmp/gpt2/logs" <<'PYEOF' || fail "the TensorBoard event file does not decode"
import csv, glob, os, struct, sys
def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff
def masked(c):
    return (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xffffffff
assert crc32c(b"123456789") == 0xe3069283
def varint(b, i):
    x = s = 0
    while True:
        c = b[i]; i += 1
        x |= (c & 0x7f) << s; s += 7
        if not c & 0x80:
            return x, i
def fields(b):
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0: v, i = varint(b, i)
        elif w == 1: v = b[i:i + 8]; i += 8
        elif w == 5: v = b[i:i + 4]; i += 4
        elif w == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        else: raise ValueError("wire type %d" % w)
        out.append((f, w, v))
    return out
(path,) = glob.glob(os.path.join(sys.argv[1], "events.out.tfevents.*"))
data = open(path, "rb").read()
i, events = 0, []
while i < len(data):
    (n,) = struct.unpack_from("<Q", data, i)
    (c1,) = struct.unpack_from("<I", data, i + 8)
    assert c1 == masked(crc32c(data[i:i + 8])), "length crc"
    rec = data[i + 12:i + 12 + n]
    (c2,) = struct.unpack_from("<I", data, i + 12 + n)
    assert c2 == masked(crc32c(rec)), "data crc"
    events.append(rec)
    i += 16 + n
first = dict((f, v) for f, w, v in fields(events[0]))
assert first[3] == b"brain.Event:2"
scalars = {}
for e in events[1:]:
    fs = dict((f, v) for f, w, v in fields(e))
    step = fs.get(2, 0)
    for f, w, val in fields(fs[5]):
        vv = dict((g, x) for g, _, x in fields(val))
        scalars[(vv[1].decode(), step)] = struct.unpack("<f", vv[2])[0]
rows = list(csv.DictReader(open(os.path.join(sys.argv[1], "train.csv"))))
for r in rows:
    s = int(r["step"])
    assert abs(scalars[("train/loss", s)] - float(r["train_loss"])) < 1e-5, s
    if r["valid_loss"]:
        assert abs(scalars[("valid/loss", s)] - float(r["valid_loss"])) < 1e-5, s
assert len([k for k in scalars if k[0] == "train/loss"]) == len(rows)
PYEOF

# ---- generate ---------------------------------------------------------------------------
for arch in gpt2 lstm; do
	m="$tmp/$arch"
	"$LMSCOPE" generate "$m" --text "the cat" -n 6 --temperature 0 --json > "$tmp/g1" || fail "$arch generate"
	"$LMSCOPE" generate "$m" --text "the cat" -n 6 --temperature 0 --json > "$tmp/g2" || fail "$arch generate"
	cmp -s "$tmp/g1" "$tmp/g2" || fail "$arch: greedy generation is not deterministic"
	"$LMSCOPE" generate "$m" --text "the cat" -n 6 --temperature 1 --top-p 0.9 --seed 5 --json > "$tmp/s1" || fail "$arch sample"
	"$LMSCOPE" generate "$m" --text "the cat" -n 6 --temperature 1 --top-p 0.9 --seed 5 --json > "$tmp/s2" || fail "$arch sample"
	cmp -s "$tmp/s1" "$tmp/s2" || fail "$arch: sampling with a seed is not deterministic"
	$PY - "$LMSCOPE" "$m" "$tmp/g1" <<'PYEOF' || fail "$arch: generate --json is wrong"
import json, subprocess, sys
lms, model, path = sys.argv[1:4]
g = json.load(open(path))
assert set(g) >= {"prompt_ids", "ids", "tokens"}, g.keys()
assert len(g["prompt_ids"]) == 2 and len(g["ids"]) == 6 and len(g["tokens"]) == 6
assert all(isinstance(x, int) for x in g["prompt_ids"] + g["ids"])
assert all(isinstance(x, str) for x in g["tokens"])
# prefix reuse against recomputation: one token at a time from the full prefix
ids = list(g["prompt_ids"])
for want in g["ids"]:
    out = subprocess.run([lms, "generate", model, "--ids", ",".join(map(str, ids)), "-n", "1",
                          "--temperature", "0", "--json"], capture_output=True, check=True)
    got = json.loads(out.stdout)["ids"][0]
    assert got == want, (ids, got, want)
    ids.append(got)
PYEOF
done

# ---- eval ---------------------------------------------------------------------------------
printf 'the dog eats slowly . the cat sings today . the bird runs\n' > "$tmp/short.txt"
head -300 "$tmp/corpus.txt" > "$tmp/long.txt"
for arch in gpt2 lstm; do
	m="$tmp/$arch"
	"$LMSCOPE" eval "$m" "$tmp/short.txt" --json > "$tmp/e.json" || fail "$arch eval"
	"$LMSCOPE" eval "$m" "$tmp/long.txt" "$tmp/short.txt" --json > "$tmp/e2.json" || fail "$arch eval (long)"
	"$LMSCOPE" tokenize "$m" --json "$tmp/short.txt" > "$tmp/t.json" || fail "$arch tokenize"
	$PY - "$LMSCOPE" "$m" "$tmp/e.json" "$tmp/t.json" "$tmp/e2.json" <<'PYEOF' || fail "$arch: eval --json is wrong"
import json, math, subprocess, sys
lms, model, ep, tp, ep2 = sys.argv[1:6]
e = json.load(open(ep))
assert set(e) >= {"tokens", "cross_entropy", "bits_per_token", "perplexity", "unk_rate"}, e.keys()
ids = json.load(open(tp))["ids"]
assert e["tokens"] == len(ids) - 1
assert abs(e["perplexity"] - math.exp(e["cross_entropy"])) <= 1e-6 * e["perplexity"]
assert abs(e["bits_per_token"] - e["cross_entropy"] / math.log(2)) <= 1e-9 + 1e-7 * e["bits_per_token"]
assert e["unk_rate"] == 0
# the text fits the context: the cross-entropy is the mean of -log p over
# positions, each from lmscope explain on the prefix
nll = 0.0
for j in range(1, len(ids)):
    out = subprocess.run([lms, "explain", model, "--ids", ",".join(map(str, ids[:j])),
                          "--target-id", str(ids[j]), "--json"], capture_output=True, check=True)
    nll -= json.loads(out.stdout)["target"]["logprob"]
ce = nll / (len(ids) - 1)
assert abs(ce - e["cross_entropy"]) < 1e-4 * max(1.0, ce), (ce, e["cross_entropy"])
e2 = json.load(open(ep2))
assert e2["tokens"] > 16 * 10 and math.isfinite(e2["cross_entropy"])
PYEOF
done
"$LMSCOPE" eval "$tmp/gpt2" /nonexistent.txt 2> /dev/null && fail "eval of a missing file succeeded"
"$LMSCOPE" generate "$tmp/gpt2" -n 3 2> /dev/null && fail "generate without a prompt succeeded"
exit 0
