#!/bin/sh
# lmscope train --snapshot-every: the index (steps every N and the last,
# tokens = step x batch x context, the losses those of the CSV at the same
# steps, null without validation), every snapshot opens and holds only F16
# weights, the last one's log-probs equal the final model's to F16
# rounding (lmscope explain --json on both, every token of the
# vocabulary) while an early one's do not, the snapshots survive the
# checkpoints' whole-directory replacements, --resume continues the series
# (dropping what a crash left past the checkpoint) into the uninterrupted
# run's index and weights byte for byte, and a malformed index stops a
# resumed run with one line naming it.
LMSCOPE=${LMSCOPE:-./lmscope}
PY=/usr/bin/python3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "snapshots.sh: $*" >&2; exit 1; }

. "$(dirname "$0")/lib/corpus.sh"
tiny_corpus "$tmp/corpus.txt"

# 25 updates of 4 x 16 tokens; checkpoints at 7, 14, 21 and 25 replace the
# directory between the snapshots at 10, 20 and 25
train() {
	"$LMSCOPE" --threads 1 train "$tmp/corpus.txt" --vocab-size 64 --context 16 --batch 4 \
		--embd 16 --layers 2 --heads 2 --warmup 5 --lr 1e-2 --steps 25 --checkpoint-every 7 \
		--snapshot-every 10 "$@"
}

train -o "$tmp/m" 2> "$tmp/err" || fail "train: $(cat "$tmp/err")"
[ -f "$tmp/m/snapshots/index.json" ] || fail "no snapshots/index.json"
$PY - "$tmp/m" <<'PYEOF' || fail "the index does not match the run"
import csv, json, math, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "snapshots/index.json")))
assert [e["step"] for e in idx] == [10, 20, 25], idx
rows = {int(r["step"]): r for r in csv.DictReader(open(os.path.join(d, "logs/train.csv")))}
prev = -1
for e in idx:
    assert set(e) == {"step", "tokens", "train_loss", "valid_loss", "path"}, e
    assert e["path"] == "step-%06d" % e["step"], e
    assert e["tokens"] == e["step"] * 4 * 16 and e["tokens"] > prev, e
    prev = e["tokens"]
    for k in ("train_loss", "valid_loss"):
        assert isinstance(e[k], float) and math.isfinite(e[k]) and e[k] > 0, e
    r = rows[e["step"]]
    assert abs(e["train_loss"] - float(r["train_loss"])) < 2e-6, (e, r)
    assert r["valid_loss"] and abs(e["valid_loss"] - float(r["valid_loss"])) < 2e-6, (e, r)
    sd = os.path.join(d, "snapshots", e["path"])
    assert sorted(os.listdir(sd)) == ["config.json", "model.safetensors"], os.listdir(sd)
    with open(os.path.join(sd, "model.safetensors"), "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        hdr = json.loads(f.read(n))
    dtypes = {v["dtype"] for k, v in hdr.items() if k != "__metadata__"}
    assert dtypes == {"F16"}, dtypes
assert idx[-1]["train_loss"] < idx[0]["train_loss"], idx
assert not [n for n in os.listdir(os.path.join(d, "snapshots")) if n.startswith(".")]
PYEOF

# every snapshot opens, with the run's tokenizer
for s in 10 20 25; do
	"$LMSCOPE" info "$tmp/m/snapshots/step-0000$s" > "$tmp/info" 2> "$tmp/err" ||
		fail "info step $s: $(cat "$tmp/err")"
	grep -q "^tokenizer: *word-level" "$tmp/info" || fail "step $s does not open with the run's tokenizer"
done

# the last snapshot is the final model to F16 rounding; the first is not
explain() {
	"$LMSCOPE" --threads 1 explain "$1" --text "the dog sleeps loudly . the" --top 1000 --json \
		--no-faithfulness > "$2" 2> "$tmp/err" || fail "explain $1: $(cat "$tmp/err")"
}
explain "$tmp/m" "$tmp/final.json"
explain "$tmp/m/snapshots/step-000025" "$tmp/last.json"
explain "$tmp/m/snapshots/step-000010" "$tmp/first.json"
$PY - "$tmp/final.json" "$tmp/last.json" "$tmp/first.json" <<'PYEOF' || fail "the snapshots' log-probs"
import json, sys
final, last, first = ({t["id"]: t["logprob"] for t in json.load(open(p))["top"]} for p in sys.argv[1:])
assert len(final) >= 10 and set(final) == set(last) == set(first), (len(final), len(last))
d_last = max(abs(final[i] - last[i]) for i in final)
d_first = max(abs(final[i] - first[i]) for i in final)
# weights rounded to F16 (relative 2^-11) move a log-prob by a few 1e-3 at most here
assert d_last < 5e-3, d_last
assert d_first > 0.1, d_first
PYEOF

# without validation text the valid loss is null
train -o "$tmp/nv" --valid-frac 0 --steps 10 2> "$tmp/err" || fail "--valid-frac 0: $(cat "$tmp/err")"
$PY -c 'import json, sys; idx = json.load(open(sys.argv[1]))
assert [(e["step"], e["valid_loss"]) for e in idx] == [(10, None)], idx' "$tmp/nv/snapshots/index.json" ||
	fail "--valid-frac 0: valid_loss is not null"

# --resume continues the series; a snapshot left past the checkpoint (a
# crash after it) is taken again
train -o "$tmp/r" --stop-at 12 2> "$tmp/err" || fail "--stop-at: $(cat "$tmp/err")"
$PY - "$tmp/r/snapshots" <<'PYEOF' || fail "--stop-at 12: the index"
import json, os, shutil, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
assert [e["step"] for e in idx] == [10], idx
# what a run killed after a snapshot at 13 (past the checkpoint at 12) leaves
shutil.copytree(os.path.join(d, "step-000010"), os.path.join(d, "step-000013"))
idx.append(dict(idx[0], step=13, tokens=13 * 64, path="step-000013"))
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PYEOF
train -o "$tmp/r" --resume 2> "$tmp/err" || fail "--resume: $(cat "$tmp/err")"
cmp -s "$tmp/m/snapshots/index.json" "$tmp/r/snapshots/index.json" ||
	fail "the resumed run's index differs: $(diff "$tmp/m/snapshots/index.json" "$tmp/r/snapshots/index.json")"
for s in 10 20 25; do
	cmp -s "$tmp/m/snapshots/step-0000$s/model.safetensors" "$tmp/r/snapshots/step-0000$s/model.safetensors" ||
		fail "the resumed run's snapshot at step $s differs"
done

# a malformed index: one line naming it, the format exit status
train -o "$tmp/b" --stop-at 12 2> "$tmp/err" || fail "--stop-at: $(cat "$tmp/err")"
printf '[{"step": 10}]\n' > "$tmp/b/snapshots/index.json"
train -o "$tmp/b" --resume 2> "$tmp/err"
rc=$?
[ $rc -eq 4 ] || fail "a malformed index: exit status $rc, not 4"
grep -q "^lmscope: .*/b/snapshots/index.json: entry 1: " "$tmp/err" ||
	fail "a malformed index: $(cat "$tmp/err")"
[ "$(grep -c '^lmscope:' "$tmp/err")" -eq 1 ] || fail "a malformed index: $(cat "$tmp/err")"
echo "snapshots.sh: ok"
