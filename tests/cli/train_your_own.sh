#!/bin/sh
# models/lessons/train-your-own.lesson, followed as a student would: the
# `lmscope train` command of its first caption is taken from the lesson
# and run shortened (200 updates instead of 3000, lighter validation).
# Its claims are graded both ways: a freshly initialised model (the same
# command with --steps 1 --lr 0) fails every one (exit 1, a ✗ line each, a
# perplexity near the vocabulary's size, as `lmscope eval` measures it),
# the shortened run beats it by far and keeps its snapshots, and the
# shipped model the lesson opens without one passes every claim, by the
# lesson's bare name as well.
LMSCOPE=${LMSCOPE:-./lmscope}
lesson=models/lessons/train-your-own.lesson
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "train_your_own.sh: $*" >&2; exit 1; }

# ---- the corpus the lesson trains on (make corpora) ------------------------------
if [ ! -s corpora/kjv.train.txt ] || [ ! -s corpora/kjv.valid.txt ]; then
	echo "train_your_own.sh: corpora/kjv.*.txt missing: make corpora/kjv.txt"
	make --no-print-directory corpora/kjv.txt >&2
fi
[ -s corpora/kjv.train.txt ] && [ -s corpora/kjv.valid.txt ] ||
	fail "corpora/kjv.train.txt and kjv.valid.txt missing and make corpora/kjv.txt could not build them"

# ---- the lesson's command ------------------------------------------------------
cmd=$(sed -n 's/^caption \(lmscope train .*\)$/\1/p' "$lesson")
[ "$(printf '%s\n' "$cmd" | grep -c .)" = 1 ] || fail "not one lmscope train caption: $cmd"
case "$cmd" in
*" -o mymodel "*"--steps 3000 "*"--snapshot-every 500"*) ;;
*) fail "the train caption is not the measured command: $cmd" ;;
esac
grep -q "^model kjv-transformer$" "$lesson" || fail "the lesson's own model is not the shipped kjv-transformer"
want=$(grep -c '^expect ' "$lesson")
[ "$want" -ge 6 ] || fail "the lesson states only $want claims"

# train NAME OPTION...: the lesson's command into $tmp/NAME, with OPTIONs after
# it (a later option overrides an earlier one).
train() {
	out=$1
	shift
	set -- $(printf '%s\n' "$cmd" | sed "s|^lmscope train ||; s| -o mymodel | -o $tmp/$out |") "$@"
	"$LMSCOPE" train "$@" > "$tmp/$out.log" 2>&1 || fail "$out: lmscope train exit $?: $(tail -3 "$tmp/$out.log")"
}
# grade NAME: the lesson's --check on $tmp/NAME into $tmp/NAME.check; its exit status.
grade() {
	"$LMSCOPE" lesson "$lesson" "$tmp/$1" --check > "$tmp/$1.check" 2> "$tmp/$1.err"
	rc=$?
	[ "$(wc -l < "$tmp/$1.check")" = "$want" ] || fail "$1: not one line per claim: $(cat "$tmp/$1.check" "$tmp/$1.err")"
	return $rc
}
ppl_of() { sed -n 's/.*ppl < [0-9.]* corpora.*: perplexity \([0-9.]*\) on .*/\1/p' "$tmp/$1.check"; }

# ---- a freshly initialised model fails every claim --------------------------------
train fresh --steps 1 --lr 0
grade fresh
rc=$?
[ "$rc" = 1 ] || fail "the fresh model: --check exit $rc, not 1: $(cat "$tmp/fresh.check")"
[ "$(grep -c '^✗ ' "$tmp/fresh.check")" = "$want" ] ||
	fail "the fresh model holds a claim: $(grep '^✓' "$tmp/fresh.check")"
"$LMSCOPE" eval "$tmp/fresh" corpora/kjv.valid.txt --json > "$tmp/fresh.json" || fail "eval fresh: exit $?"
/usr/bin/python3 - "$(ppl_of fresh)" "$tmp/fresh.json" <<'PYEOF' || fail "the fresh model's perplexity"
import json, sys
ppl, ev = float(sys.argv[1]), json.load(open(sys.argv[2]))
# untrained, the 4096 words are about equally likely: perplexity about 4096
assert 2000 < ppl < 8000, ppl
assert abs(ppl - ev["perplexity"]) < 1e-2 * ppl, (ppl, ev["perplexity"])
PYEOF

# ---- the lesson's command, shortened -----------------------------------------------
train short --steps 200 --snapshot-every 100 --valid-every 100 --valid-tokens 4000
grade short
[ -n "$(ppl_of short)" ] || fail "no perplexity for the shortened run: $(cat "$tmp/short.check")"
/usr/bin/python3 - "$(ppl_of short)" "$(ppl_of fresh)" <<'PYEOF' || fail "200 updates did not lower the perplexity tenfold"
import sys
short, fresh = float(sys.argv[1]), float(sys.argv[2])
print("train_your_own.sh: perplexity fresh %.1f, after 200 updates %.1f" % (fresh, short))
assert short < fresh / 10, (short, fresh)
PYEOF
/usr/bin/python3 - "$tmp/short/snapshots/index.json" <<'PYEOF' || fail "the snapshots { and } step through"
import json, sys
idx = json.load(open(sys.argv[1]))
assert [s["step"] for s in idx] == [100, 200], idx
PYEOF

# ---- the shipped model passes; the lesson by its bare name (installed) ------------
"$LMSCOPE" lesson "$lesson" --check > "$tmp/shipped.check" ||
	fail "kjv-transformer: exit $?: $(grep -v '^✓' "$tmp/shipped.check")"
[ "$(grep -c '^✓ ' "$tmp/shipped.check")" = "$want" ] || fail "kjv-transformer: not every claim holds"
LMSCOPE_MODELS=models "$LMSCOPE" lesson train-your-own "$tmp/fresh" --check > "$tmp/bare.check"
rc=$?
[ "$rc" = 1 ] || fail "lmscope lesson train-your-own on the fresh model: exit $rc, not 1"
# the same lines but for the lesson's path
sed 's|^\(.\) [^:]*:|\1 |' "$tmp/fresh.check" > "$tmp/a"
sed 's|^\(.\) [^:]*:|\1 |' "$tmp/bare.check" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b" || fail "the bare name grades differently: $(diff "$tmp/a" "$tmp/b")"
exit 0
