#!/bin/sh
# lmscope explain --compare on tiny models written by tests/cli/tinymodel.py:
# a model against itself (KL 0, attention differences 0, rank correlation
# 1); a model against another seed's and against its float16 copy, where
# what can be read off explain's own outputs of each model alone must agree
# (the last layer's lens is the prediction, so its KL is that of the two
# "top" distributions; the attention differences are those of the two
# --attention matrices; rho is the Spearman correlation, computed here, of
# the two saliencies of A's target); --position looks at a prefix; models
# whose vocabulary, layer count or head count differ are refused with one
# line naming what differs; the option errors. (tests/torch/
# divergence_crosscheck.py checks every layer's KL against PyTorch.)
LMSCOPE=${LMSCOPE:-./lmscope}
PY=/usr/bin/python3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

$PY tests/cli/tinymodel.py gpt2 "$tmp/a" || exit 1
$PY tests/cli/tinymodel.py gpt2 "$tmp/b" --seed 7 || exit 1
$PY tests/cli/tinymodel.py gpt2 "$tmp/a16" --dtype F16 || exit 1
$PY tests/cli/tinymodel.py lstm "$tmp/lstm" || exit 1
$PY -c "import sys; sys.path.insert(0, 'tests/cli'); import tinymodel as tm
for name, cfg in (('l3', dict(tm.GPT2, L=3)), ('h4', dict(tm.GPT2, NH=4))):
    tm.write_model(sys.argv[1] + '/' + name, tm.gpt2_config(cfg), tm.gpt2_tensors(cfg, 1))" "$tmp" || exit 1

ids=3,1,4,1,5,9,2,6
# explain MODEL ARGS --json > NAME.json
run() {
	name=$1; shift
	"$LMSCOPE" explain "$@" --json > "$tmp/$name.json" 2> "$tmp/$name.err" ||
		fail "$name: exit $? $(cat "$tmp/$name.err")"
}
run self "$tmp/a" --ids $ids --compare "$tmp/a"
run lself "$tmp/lstm" --ids 2,2,8,0 --compare "$tmp/lstm"
for pair in "a b" "a a16" "b a"; do
	set -- $pair
	run "$1_$2" "$tmp/$1" --ids $ids --compare "$tmp/$2" --position 5
	# each model alone on the prefix the comparison reads (positions 0..5)
	run "$1_alone" "$tmp/$1" --ids 3,1,4,1,5,9 --top 11 --attention
	tgt=$($PY -c "import json, sys; print(json.load(open(sys.argv[1]))['target']['id'])" "$tmp/$1_alone.json")
	run "$2_alone" "$tmp/$2" --ids 3,1,4,1,5,9 --top 11 --attention --target-id "$tgt"
	$PY - "$tmp" "$1" "$2" <<'PYEOF' || fail "$1 against $2 disagrees with explain's own outputs"
import json, math, sys
d, a, b = sys.argv[1:]
c = json.load(open("%s/%s_%s.json" % (d, a, b)))["compare"]
A, B = (json.load(open("%s/%s_alone.json" % (d, x))) for x in (a, b))
ok = True
def close(x, y, tol, what):
    global ok
    if abs(x - y) > tol * max(1.0, abs(y)):
        print("%s: --compare %r, from explain %r" % (what, x, y)); ok = False
assert c["model_b"].endswith("/" + b) and c["position"] == 5, c
assert c["target"]["id"] == A["target"]["id"], "target"
pa = {t["id"]: t["logprob"] for t in A["top"]}
pb = {t["id"]: t["logprob"] for t in B["top"]}
kl = sum(math.exp(pa[k]) * (pa[k] - pb[k]) for k in pa)
assert len(c["kl"]) == 2 and all(x >= 0 for x in c["kl"]), c["kl"]
close(c["kl"][-1], kl, 1e-4, "last layer's KL")
for l in range(2):
    for h in range(2):
        qa, qb = A["attention"][l][h], B["attention"][l][h]
        want = max(abs(qa[q][k] - qb[q][k]) for q in range(6) for k in range(q + 1))
        close(c["attn_maxdiff"][l][h], want, 1e-5, "attention %d.%d" % (l, h))
def ranks(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return r
ra, rb = ranks(A["saliency"]["scores"]), ranks(B["saliency"]["scores"])
ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
rho = cov / math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
close(c["saliency_spearman"], rho, 1e-6, "saliency rank correlation")
sys.exit(0 if ok else 1)
PYEOF
done

$PY - "$tmp" <<'PYEOF' || fail "identity or quantization sizes"
import json, sys
d = sys.argv[1]
for name, heads in (("self", 2), ("lself", 0)):
    c = json.load(open(d + "/%s.json" % name))["compare"]
    assert c["kl"] == [0.0, 0.0], (name, c["kl"])
    assert c["attn_maxdiff"] == [[0.0] * heads] * 2, (name, c["attn_maxdiff"])
    assert c["saliency_spearman"] == 1.0, (name, c["saliency_spearman"])
# float16 weights move the prediction far less than another model does
half, other = (json.load(open(d + "/a_%s.json" % x))["compare"] for x in ("a16", "b"))
assert 0 < half["kl"][-1] < 1e-3 < other["kl"][-1], (half["kl"], other["kl"])
PYEOF

# one position: no rank correlation
"$LMSCOPE" explain "$tmp/a" --ids 4 --compare "$tmp/b" --json > "$tmp/one.json" || fail "one position"
grep -q '"saliency_spearman":null' "$tmp/one.json" || fail "one position: rho should be null"

# the text form
"$LMSCOPE" explain "$tmp/a" --ids $ids --compare "$tmp/a" > "$tmp/text" || fail "text form"
grep -q "^compared with $tmp/a at position 7\$" "$tmp/text" || fail "text: heading"
grep -qE '^ +1 +0 .*0\.0000 \(head 0\)$' "$tmp/text" || fail "text: layer 1 row"
grep -q '^rank correlation (Spearman): +1.0000$' "$tmp/text" || fail "text: rho"

# models that cannot be compared: one line naming what differs, exit 2
refuse() {
	"$LMSCOPE" explain "$tmp/a" --ids 1,2 --compare "$tmp/$1" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$1: exit $rc, wanted 2"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "^lmscope: $tmp/$1: $2 differs from the first model's $3\$" "$tmp/err" ||
		fail "$1: message $(cat "$tmp/err")"
}
refuse lstm "vocabulary size 13" 11
refuse l3 "layer count 3" 2
refuse h4 "head count 4" 2

# option errors
"$LMSCOPE" explain "$tmp/a" --ids 1,2 --position 1 > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && grep -q 'give --compare MODEL_B' "$tmp/err" || fail "--position without --compare"
"$LMSCOPE" explain "$tmp/a" --ids 1,2 --compare "$tmp/b" --position 2 > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && grep -q 'position 2 outside the input (positions 0 to 1)' "$tmp/err" || fail "--position past the input"
"$LMSCOPE" explain "$tmp/a" --ids 1,2 --compare "$tmp/b" --csv > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] || fail "--compare with --csv accepted"
"$LMSCOPE" explain "$tmp/a" --ids 1,2 --compare "$tmp/nothing" > /dev/null 2> "$tmp/err"
[ $? -eq 3 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "missing MODEL_B: $(cat "$tmp/err")"

[ $failed -eq 0 ] && echo "compare.sh: all passed"
[ $failed -eq 0 ]
