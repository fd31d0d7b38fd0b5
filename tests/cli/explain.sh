#!/bin/sh
# lmscope explain on tiny GPT-2 and LSTM models written by tests/cli/tinymodel.py
# (standard-library Python, independent of lmscope): the JSON schema, and the
# numbers against tinymodel.py's plain-Python forward pass and central
# differences; the table output; context truncation; argument errors.
LMSCOPE=${LMSCOPE:-./lmscope}
PY=/usr/bin/python3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "explain.sh: $*" >&2; exit 1; }

$PY tests/cli/tinymodel.py gpt2 "$tmp/gpt2" || fail "cannot write the gpt2 model"
$PY tests/cli/tinymodel.py gpt2 "$tmp/gpt2p" --prefix transformer. --dtype F16 || fail "cannot write gpt2p"
$PY tests/cli/tinymodel.py lstm "$tmp/lstm" || fail "cannot write the lstm model"

# lmscope info: architecture and the parameter count tinymodel.py wrote
for m in gpt2 lstm; do
	"$LMSCOPE" info "$tmp/$m" > "$tmp/info.$m" || fail "info $m: exit $?"
	want=$($PY -c "import sys; sys.path.insert(0, 'tests/cli'); import tinymodel as tm
ts = tm.gpt2_tensors(tm.GPT2) if '$m' == 'gpt2' else tm.lstm_tensors(tm.LSTM)
print(sum(len(v) for n, s, v in ts))")
	grep -q "^architecture: *$m\$" "$tmp/info.$m" || fail "info $m: architecture"
	grep -q "^parameters: *$want\$" "$tmp/info.$m" || fail "info $m: parameters, wanted $want"
done

# explain MODEL ARGS... > out.json, checked by check.py against the reference
run() {
	name=$1; shift
	"$LMSCOPE" explain "$@" --json > "$tmp/$name.json" 2> "$tmp/$name.err" ||
		fail "$name: exit $? $(cat "$tmp/$name.err")"
}
run g1 "$tmp/gpt2" --ids 1,2,3,4,5 --top 11 --attention
run g2 "$tmp/gpt2" --ids 3,3,0,10 --method grad_x_input --target-id 7 --top 4 --attention
run g3 "$tmp/gpt2p" --ids 9,1,4 --contrast-id 2 --top 2
run l1 "$tmp/lstm" --ids 0,5,12,7 --top 13
run l2 "$tmp/lstm" --ids 2,2,8 --method grad_x_input --target-id 3 --contrast-id 11 --attention

cat > "$tmp/check.py" <<'PYEOF'
import json, math, sys
sys.path.insert(0, "tests/cli")
import tinymodel as tm

def close(a, b, tol, what):
    if abs(a - b) > tol * max(1.0, abs(a), abs(b)):
        sys.exit("%s: lmscope %r, reference %r" % (what, a, b))

def check(name, arch, dtype, ids, method, target=None, contrast=None, top=10, attention=False):
    out = json.load(open(sys.argv[1] + "/" + name + ".json"))
    what = name + ": "
    cfg = tm.GPT2 if arch == "gpt2" else tm.LSTM
    tensors = tm.gpt2_tensors(cfg, 1, dtype) if arch == "gpt2" else tm.lstm_tensors(cfg, 1, dtype)
    ref = tm.explain_reference(arch, cfg, tensors, ids, target, contrast)
    assert out["ids"] == ids, what + "ids"
    assert out["tokens"] == ["#%d" % i for i in ids], what + "tokens"
    lp = ref["logprob"]
    V = len(lp)
    # top: K entries, best first, matching the reference distribution
    assert len(out["top"]) == min(top, V), what + "top length"
    probs = [t["prob"] for t in out["top"]]
    assert probs == sorted(probs, reverse=True), what + "top not sorted"
    for t in out["top"]:
        close(t["logprob"], lp[t["id"]], 1e-4, what + "logprob of %d" % t["id"])
        close(t["prob"], math.exp(t["logprob"]), 1e-6, what + "prob vs logprob")
        assert t["token"] == "#%d" % t["id"], what + "top token"
    best = sorted(range(V), key=lambda k: -lp[k])[:len(out["top"])]
    assert [t["id"] for t in out["top"]] == best, what + "top ids %r, reference %r" % ([t["id"] for t in out["top"]], best)
    if len(out["top"]) == V:
        close(sum(probs), 1.0, 1e-5, what + "probabilities sum")
    # target: default = most probable
    tg = out["target"]
    assert tg["id"] == (target if target is not None else out["top"][0]["id"]), what + "target id"
    assert tg["id"] == ref["target"], what + "target vs reference"
    close(tg["logprob"], lp[tg["id"]], 1e-4, what + "target logprob")
    if contrast is not None:
        assert out["contrast"]["id"] == contrast, what + "contrast id"
        close(out["contrast"]["logprob"], lp[contrast], 1e-4, what + "contrast logprob")
    else:
        assert "contrast" not in out, what + "unexpected contrast"
    # saliency against central differences of the reference
    sal = out["saliency"]
    assert sal["method"] == method, what + "method"
    assert len(sal["scores"]) == len(ids), what + "scores length"
    for j, s in enumerate(sal["scores"]):
        g, e = ref["grad"][j], ref["emb"][j]
        want = math.sqrt(sum(x * x for x in g)) if method == "grad_norm" else sum(x * y for x, y in zip(g, e))
        close(s, want, 2e-3, what + "saliency[%d]" % j)
    # attention: [layer][head][query][key], causal, rows sum to 1, as the reference
    if attention and arch == "gpt2":
        att = out["attention"]
        assert len(att) == cfg["L"] and all(len(l) == cfg["NH"] for l in att), what + "attention shape"
        n = len(ids)
        for l in range(cfg["L"]):
            for h in range(cfg["NH"]):
                m = att[l][h]
                assert len(m) == n and all(len(r) == n for r in m), what + "attention rows"
                for q in range(n):
                    close(sum(m[q]), 1.0, 1e-5, what + "attention row sum")
                    for k in range(n):
                        if k > q:
                            assert m[q][k] == 0.0, what + "attention not causal"
                        close(m[q][k], ref["attention"][l][h][q][k], 1e-4, what + "attention %d %d %d %d" % (l, h, q, k))
    else:
        assert "attention" not in out, what + "attention for a recurrent model"

check("g1", "gpt2", "F32", [1, 2, 3, 4, 5], "grad_norm", top=11, attention=True)
check("g2", "gpt2", "F32", [3, 3, 0, 10], "grad_x_input", target=7, top=4, attention=True)
check("g3", "gpt2", "F16", [9, 1, 4], "grad_norm", contrast=2, top=2)
check("l1", "lstm", "F32", [0, 5, 12, 7], "grad_norm", top=13)
check("l2", "lstm", "F32", [2, 2, 8], "grad_x_input", target=3, contrast=11, attention=True)
PYEOF
$PY "$tmp/check.py" "$tmp" || fail "JSON output disagrees with the reference"

# the table: a header, one row per input position and per top token
"$LMSCOPE" explain "$tmp/gpt2" --ids 1,2,3 --top 3 > "$tmp/table" || fail "table: exit $?"
grep -q '^ *pos  *id  *token  *saliency' "$tmp/table" || fail "table: no input header"
grep -q '^ *rank  *id  *token  *prob  *logprob' "$tmp/table" || fail "table: no top header"
[ "$(grep -c '^ *[0-9][0-9]*  *[0-9][0-9]*  *"#[0-9]*" ' "$tmp/table")" -eq 6 ] || fail "table: expected 3 input + 3 top rows"
grep -q '^target .*(most probable)' "$tmp/table" || fail "table: no target line"

# a context longer than the model's (16): the last 16 tokens, said on stderr
ids=$(seq -s, 0 10),$(seq -s, 0 9)
"$LMSCOPE" explain "$tmp/gpt2" --ids "$ids" --json > "$tmp/long.json" 2> "$tmp/long.err" || fail "long: exit $?"
grep -q 'explaining the last 16' "$tmp/long.err" || fail "long: no note on stderr"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ids"] == list(range(5,11)) + list(range(10)), d["ids"]' \
	"$tmp/long.json" || fail "long: wrong ids kept"

# --text through the model's tokenizer (a character-level one, written by
# hand): the same numbers as the ids it encodes to, tokens shown as pieces
cp -r "$tmp/gpt2" "$tmp/gpt2tok"
printf '{"type": "char"}\n' > "$tmp/gpt2tok/tokenizer_config.json"
printf '{"<unk>": 0, "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, " ": 10}\n' \
	> "$tmp/gpt2tok/vocab.json"
"$LMSCOPE" explain "$tmp/gpt2tok" --text "bad hig" --json > "$tmp/text.json" || fail "text: exit $?"
"$LMSCOPE" explain "$tmp/gpt2" --ids 2,1,4,10,8,9,7 --json > "$tmp/ids.json" || fail "ids: exit $?"
$PY - "$tmp" <<'PYEOF' || fail "--text disagrees with --ids"
import json, sys
t = json.load(open(sys.argv[1] + "/text.json"))
i = json.load(open(sys.argv[1] + "/ids.json"))
assert t["ids"] == [2, 1, 4, 10, 8, 9, 7], t["ids"]
assert t["tokens"] == list("bad hig"), t["tokens"]
assert t["saliency"] == i["saliency"] and [x["id"] for x in t["top"]] == [x["id"] for x in i["top"]]
pieces = ["<unk>"] + list("abcdefghi ")
assert all(x["token"] == pieces[x["id"]] for x in t["top"]), t["top"]
PYEOF
"$LMSCOPE" explain "$tmp/gpt2tok" --text "bad hig" > "$tmp/text.table" || fail "text table: exit $?"
grep -q '^ *3  *10  *" " ' "$tmp/text.table" || fail "text table: no quoted space token"

# errors: one line on stderr, the right exit status
expect() {
	want_rc=$1; want_msg=$2; shift 2
	"$LMSCOPE" explain "$@" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq "$want_rc" ] || fail "explain $*: exit $rc, wanted $want_rc"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "explain $*: stderr is not one line: $(cat "$tmp/err")"
	grep -qF -- "$want_msg" "$tmp/err" || fail "explain $*: message $(cat "$tmp/err"), wanted $want_msg"
}
expect 2 "no tokenizer to encode --text" "$tmp/gpt2" --text "hello"
expect 2 "token id 11 outside the vocabulary" "$tmp/gpt2" --ids 1,11
expect 2 "--target-id 99 outside the vocabulary" "$tmp/gpt2" --ids 1 --target-id 99
expect 2 "--ids wants a comma-separated list" "$tmp/gpt2" --ids 1,,2
expect 2 "exactly one of --text TEXT and --ids LIST" "$tmp/gpt2"
expect 2 "--method is grad_norm, grad_x_input" "$tmp/gpt2" --ids 1 --method magic
expect 2 "--contrast-id must differ from the target" "$tmp/gpt2" --ids 1 --target-id 3 --contrast-id 3
expect 4 "not a model directory" "$tmp/gpt2/config.json" --ids 1
exit 0
