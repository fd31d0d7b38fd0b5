#!/bin/sh
# The change strip on the shipped agreement model: K puts it in the
# saliency's place. For each token on screen, the KL divergence of the
# next-token distribution after it from the one before it, and the new
# top-1 where it changed, against the full distributions that
# `lmscope explain --top 91 --json` gives for each prefix of the context.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/agreement
text='the keys to the cabinet'

check() {
	wait_for a "F1 help" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$text" <<'PYEOF'
import json, math, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text = sys.argv[2:5]
words = text.split()
def dist(prefix):
    out = subprocess.run([lm, "explain", model, "--text", prefix, "--top", "91", "--json"],
                         check=True, capture_output=True, text=True).stdout
    top = json.loads(out)["top"]
    return {c["id"]: c["logprob"] for c in top}, top[0]["token"]
d = [dist(" ".join(words[:i + 1])) for i in range(len(words))]
t = [i for i, l in enumerate(lines) if "Change per token" in l][0]
rows = lines[t + 1:t + 1 + len(words)]
for i, l in enumerate(rows):
    l = l[:48]
    assert l.split()[0] == words[i], (l, words[i])
    if i == 0:
        assert l.split()[-1] == "-", l
        continue
    a, b = d[i][0], d[i - 1][0]
    kl = sum(math.exp(a[k]) * (a[k] - b[k]) for k in a)
    m = re.search(r" ([0-9]+\.[0-9]{3})(?: +\* (\S+))?\s*$", l)
    assert m, l
    assert abs(float(m.group(1)) - kl) <= 5.1e-3 + 1e-4 * kl, (l, kl)
    flipped = d[i][1] != d[i - 1][1]
    assert (m.group(2) is not None) == flipped, (l, d[i][1], d[i - 1][1])
    if flipped:
        assert m.group(2) == d[i][1], (l, d[i][1])
PYEOF
}

start a 120 40 "'$model' --text '$text'"
wait_for a "F1 help" || fail "no result"
$T send-keys -t a Tab K
wait_for a "Change per token" || fail "K did not show the change strip"
check || fail "the change strip differs from explain on each prefix"
# typing: the strip follows the context
$T send-keys -t a Escape " is"
wait_for a "context 6/32" || fail "typing did not update the context"
text="$text is"
check || fail "the change strip after typing differs from explain"
$T send-keys -t a Tab Tab K
wait_for a "Saliency: " || fail "K did not bring the saliency back"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

[ $fails = 0 ] && echo "change: all passed"
exit $((fails > 0))
