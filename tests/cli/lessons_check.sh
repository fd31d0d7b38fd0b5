#!/bin/sh
# lmscope lesson --check: every shipped lesson's expect lines hold on the
# model it names (a lesson whose claim is false fails here), a false claim
# exits 1 with a ✗ line, a missing file is a ✗ with its reason, and the
# values it prints agree with `lmscope explain --json` and `lmscope eval`
# (other code paths to the same engine).
LMSCOPE=${LMSCOPE:-./lmscope}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "lessons_check.sh: $*" >&2; exit 1; }

# ---- every shipped lesson, on its own model ---------------------------------------
# a perplexity claim's text is make corpora's (train-your-own.lesson's
# corpora/kjv.valid.txt), built here when a clone lacks it
for f in $(sed -n 's/^[[:space:]]*expect ppl [<>] [^ ]* //p' models/lessons/*.lesson | sort -u); do
	[ -s "$f" ] || make --no-print-directory "$f" >&2 || fail "$f: missing, and make $f could not build it"
done
for l in models/lessons/*.lesson; do
	"$LMSCOPE" lesson "$l" --check > "$tmp/out" 2> "$tmp/err" ||
		fail "$l: exit $?: $(grep -v '^✓' "$tmp/out" "$tmp/err" | head -3)"
	want=$(grep -c '^[[:space:]]*expect ' "$l")
	got=$(grep -c '^✓ ' "$tmp/out")
	[ "$want" = "$got" ] || fail "$l: $want expect lines but $got ✓ lines"
done
[ "$(grep -c '^expect ' models/lessons/saliency.lesson)" -ge 4 ] ||
	fail "the saliency lesson states fewer than 4 claims"

# ---- false claims fail ------------------------------------------------------------
# the KJV lesson's claims, on the induction model's syllables
"$LMSCOPE" lesson models/lessons/predict.lesson models/induction --check > "$tmp/out"
rc=$?
[ "$rc" = 1 ] || fail "predict.lesson on models/induction: exit $rc, not 1"
grep -q '^✗ models/lessons/predict.lesson:[0-9]*: top1 ",": top1 ' "$tmp/out" ||
	fail "no ✗ line for the false top1: $(cat "$tmp/out")"
cat > "$tmp/x.lesson" <<'LEOF'
step One
context In the beginning God created the heaven and the
expect top1 "earth"
expect prob "earth" > 0.5
expect ppl < 1000 no/such/file.txt
expect head-induction-score 7.0 > 0.5
LEOF
"$LMSCOPE" lesson "$tmp/x.lesson" models/kjv-transformer --check > "$tmp/out"
rc=$?
[ "$rc" = 1 ] || fail "false claims: exit $rc, not 1"
[ "$(wc -l < "$tmp/out")" = 4 ] || fail "not one line per expectation: $(cat "$tmp/out")"
grep -q '^✓ .*:3: top1 "earth"' "$tmp/out" || fail "the true top1 is not ✓"
grep -q '^✗ .*:4: prob "earth" > 0.5: p("earth") = 0\.[0-4]' "$tmp/out" || fail "the false prob is not ✗"
grep -q '^✗ .*:5: .*no/such/file.txt: No such file' "$tmp/out" || fail "a missing file is not ✗ with why"
grep -q '^✗ .*:6: .*head 7.0 does not exist' "$tmp/out" || fail "a missing head is not ✗ with why"

# ---- a new context drops the last one's target, in --check as in the player --------
cat > "$tmp/z.lesson" <<'LEOF'
step One
context In the beginning God created the heaven and the
target world
step Two
context And the LORD spake unto Moses,
method occlusion
expect saliency-top ","
LEOF
"$LMSCOPE" lesson "$tmp/z.lesson" models/kjv-transformer --check > "$tmp/out"
grep -q "^. .*:7: saliency-top \",\": occlusion's top word for \"saying\"" "$tmp/out" ||
	fail "step Two's claim is not about its own top candidate: $(cat "$tmp/out")"

# ---- the measured values, against explain and eval --------------------------------
"$LMSCOPE" explain models/kjv-transformer --text "In the beginning God created the heaven and the" \
	--method grad_x_input --json > "$tmp/e.json" || fail "explain: exit $?"
printf 'And God said, Let there be light: and there was light.\n' > "$tmp/t.txt"
"$LMSCOPE" eval models/kjv-transformer "$tmp/t.txt" --json > "$tmp/v.json" || fail "eval: exit $?"
cat > "$tmp/y.lesson" <<LEOF
step One
context In the beginning God created the heaven and the
method grad_x_input
expect prob "earth" > 0
expect ppl < 1e9 $tmp/t.txt
LEOF
"$LMSCOPE" lesson "$tmp/y.lesson" models/kjv-transformer --check > "$tmp/out" || fail "y: exit $?"
/usr/bin/python3 - "$tmp" <<'PYEOF' || fail "measured values differ from explain / eval"
import json, re, sys
d = sys.argv[1]
e = json.load(open(d + "/e.json"))
v = json.load(open(d + "/v.json"))
out = open(d + "/out", encoding="utf-8").read()
p = float(re.search(r'p\("earth"\) = ([0-9.]+)', out).group(1))
want = [t["prob"] for t in e["top"] if t["token"] == "earth"][0]
assert abs(p - want) < 6e-4, (p, want)
ppl = float(re.search(r"perplexity ([0-9.]+)", out).group(1))
assert abs(ppl - v["perplexity"]) < 6e-3, (ppl, v["perplexity"])
PYEOF

# ---- under a step's ablation, against explain --ablate ---------------------------
text='gon non te fun mo lu kon vo dan | gon non te fun mo lu kon vo dan | gon non te'
"$LMSCOPE" explain models/induction --text "$text" --ablate 1.2 --top 3 --json \
	--no-faithfulness > "$tmp/a.json" || fail "explain --ablate: exit $?"
cat > "$tmp/z.lesson" <<LEOF
step Ablated
context $text
ablate 1.2
expect prob "fun" > 0.5
expect top1 "fun"
step Restored
ablate off
expect prob "fun" > 0.5
LEOF
"$LMSCOPE" lesson "$tmp/z.lesson" models/induction --check > "$tmp/out"
rc=$?
[ "$rc" = 1 ] || fail "claims under ablation: exit $rc, not 1"
grep -q '^✓ .*:8: prob "fun" > 0.5' "$tmp/out" || fail "ablate off does not restore: $(cat "$tmp/out")"
/usr/bin/python3 - "$tmp" <<'PYEOF' || fail "values under ablation differ from explain --ablate"
import json, re, sys
d = sys.argv[1]
a = json.load(open(d + "/a.json"))
out = open(d + "/out", encoding="utf-8").read().split("\n")
assert out[0].startswith("✗ ") and out[1].startswith("✗ "), out
p = float(re.search(r'p\("fun"\) = ([0-9.]+)', out[0]).group(1))
want = [t["prob"] for t in a["top"] if t["token"] == "fun"]
assert p < 5e-4 if not want else abs(p - want[0]) < 6e-4, (p, want)
top = re.search(r'top1 "([^"]*)" \(p ([0-9.]+)\)$', out[1])
assert top.group(1) == a["top"][0]["token"], (top.group(1), a["top"][0])
assert abs(float(top.group(2)) - a["top"][0]["prob"]) < 6e-4, (top.group(2), a["top"][0])
PYEOF

# ---- patching claims, against lmscope patch --json ---------------------------------
"$LMSCOPE" patch models/agreement --clean "the key to the old cabinets" \
	--corrupt "the keys to the old cabinets" --json > "$tmp/p.json" || fail "patch: exit $?"
cat > "$tmp/p.lesson" <<'LEOF'
step No corrupted context
context the key to the old cabinets
expect patch resid_pre 0.1 > 0.5
step Patched
corrupt "the keys to the old cabinets"
expect patch resid_pre 0.1 > 0.5
expect patch attn_out 1.3 > 0.5
expect patch mlp_out 0.5 < 0.5
expect patch heads 0.2 > 0.5
expect patch heads 0.9 > 0.5
LEOF
"$LMSCOPE" lesson "$tmp/p.lesson" models/agreement --check > "$tmp/out"
rc=$?
[ "$rc" = 1 ] || fail "patching claims: exit $rc, not 1"
/usr/bin/python3 - "$tmp" <<'PYEOF' || fail "patching claims differ from lmscope patch: $(cat "$tmp/out")"
import json, re, sys
d = sys.argv[1]
p = json.load(open(d + "/p.json"))
out = open(d + "/out", encoding="utf-8").read().split("\n")
assert re.match(r"^✗ .*:3: .*not measured: no corrupted context", out[0]), out[0]
for line, (site, l, n) in zip(out[1:5], [("resid_pre", 0, 1), ("attn_out", 1, 3),
                                        ("mlp_out", 0, 5), ("heads", 0, 2)]):
    x = float(re.search(r"restores (-?[0-9.]+) of", line).group(1))
    want = p[site][l][n]
    assert abs(x - want) < 6e-4, (line, want)
    holds = want > 0.5 if site != "mlp_out" else want < 0.5
    assert line.startswith("✓ " if holds else "✗ "), (line, want)
assert re.match(r"^✗ .*:10: .*not measured: layer 0 head 9 does not exist", out[5]), out[5]
PYEOF
exit 0
