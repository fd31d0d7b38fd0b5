#!/bin/sh
# lmscope importance: the JSON schema and table on a tiny GPT-2 written by
# tests/cli/tinymodel.py, its unshuffled cross-entropy against tinymodel.py's
# plain-Python forward, --lines examples, errors; and, when the synthetic
# agreement model has been trained (models/agreement), that shuffling the
# subject hurts the verb's prediction most: its offset ranks first.
LMSCOPE=${LMSCOPE:-./lmscope}
PY=/usr/bin/python3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "importance.sh: $*" >&2; exit 1; }

$PY tests/cli/tinymodel.py gpt2 "$tmp/gpt2" || fail "cannot write the model"
$PY -c "import random; random.seed(5); print(' '.join(str(random.randrange(11)) for _ in range(60)))" > "$tmp/ids.txt"
"$LMSCOPE" importance "$tmp/gpt2" "$tmp/ids.txt" --positions 3 --repeats 2 --dims 2 --json > "$tmp/out.json" 2> "$tmp/err" ||
	fail "json: exit $? $(cat "$tmp/err")"
cat > "$tmp/check.py" <<'PYEOF'
import json, math, sys
sys.path.insert(0, "tests/cli")
import tinymodel as tm
out = json.load(open(sys.argv[1]))
toks = [int(x) for x in open(sys.argv[2]).read().split()]
cfg = tm.GPT2
T = {n: v for n, s, v in tm.gpt2_tensors(cfg, 1)}
C = cfg["C"]
K = 3
for k in ("model", "file", "examples", "positions", "repeats", "cross_entropy", "perplexity", "offsets", "dims"):
    assert k in out, "no " + k
assert out["positions"] == K and out["repeats"] == 2 and out["examples"] == len(toks) - K
assert [o["offset"] for o in out["offsets"]] == [1, 2, 3]
assert [(d["start"], d["end"]) for d in out["dims"]] == [(0, C // 2), (C // 2, C)]
for row in out["offsets"] + out["dims"]:
    for k in ("xent_rise", "xent_sd", "ppl_rise", "ppl_sd"):
        assert isinstance(row[k], float) and math.isfinite(row[k]), k
    assert row["xent_sd"] >= 0 and row["ppl_sd"] >= 0
# the unshuffled cross-entropy over every window, recomputed here
nll = 0.0
for s in range(len(toks) - K):
    emb = [T["wte.weight"][i * C:(i + 1) * C] for i in toks[s:s + K]]
    nll -= tm.log_softmax(tm.gpt2_forward(cfg, T, emb)[0])[toks[s + K]]
ref = nll / (len(toks) - K)
assert abs(out["cross_entropy"] - ref) < 1e-4, (out["cross_entropy"], ref)
assert abs(out["perplexity"] - math.exp(ref)) < 1e-3 * math.exp(ref)
PYEOF
$PY "$tmp/check.py" "$tmp/out.json" "$tmp/ids.txt" || fail "JSON disagrees with the reference"

"$LMSCOPE" importance "$tmp/gpt2" "$tmp/ids.txt" --positions 2 --repeats 2 > "$tmp/table" || fail "table: exit $?"
grep -q '^feature  *rank  *xent rise' "$tmp/table" || fail "table: no header"
[ "$(grep -c '^offset [12] ' "$tmp/table")" -eq 2 ] || fail "table: offset rows"
printf '1 2 3 4\n5 6\n7 8 9 10 1\n2 3 4 5\n' > "$tmp/lines.txt"
"$LMSCOPE" importance "$tmp/gpt2" "$tmp/lines.txt" --lines --positions 3 --json > "$tmp/lines.json" || fail "--lines: exit $?"
$PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['examples'] == 3, d['examples']" "$tmp/lines.json" ||
	fail "--lines: three lines are long enough"

expect() {
	want=$1; shift
	"$LMSCOPE" importance "$@" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq "$want" ] || fail "importance $*: exit $rc, wanted $want"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "importance $*: not one line: $(cat "$tmp/err")"
}
expect 3 "$tmp/gpt2" "$tmp/nonexistent.txt"
expect 2 "$tmp/gpt2" "$tmp/ids.txt" --positions 0
expect 2 "$tmp/gpt2" "$tmp/ids.txt" --positions 17
expect 2 "$tmp/gpt2" "$tmp/ids.txt" --bogus 1
echo "1 2 x 4" > "$tmp/bad.txt"
expect 4 "$tmp/gpt2" "$tmp/bad.txt"

# The agreement model: "the S P the A N V ...": with the adjective, the
# subject S is 5 tokens before the verb V, the attractor noun N 1 before.
if [ -d models/agreement ] && [ -f corpora/agreement.txt ]; then
	awk '$5 ~ /^(old|new|small|big|red|quiet|dark|green)$/ { print $1, $2, $3, $4, $5, $6, $7 }' \
		corpora/agreement.txt | head -400 > "$tmp/agree.txt"
	"$LMSCOPE" importance models/agreement "$tmp/agree.txt" --lines --positions 6 --repeats 3 --json \
		> "$tmp/agree.json" 2> "$tmp/err" || fail "agreement: exit $? $(cat "$tmp/err")"
	$PY - "$tmp/agree.json" <<'PYEOF' || fail "agreement: the subject's offset is not the most important"
import json, sys
d = json.load(open(sys.argv[1]))
rise = {o["offset"]: o["xent_rise"] for o in d["offsets"]}
best = max(rise, key=rise.get)
print("agreement model: rise by offset", {k: round(v, 3) for k, v in rise.items()})
sys.exit(0 if best == 5 else 1)
PYEOF
else
	echo "importance.sh: models/agreement not trained; its check skipped"
fi
exit 0
