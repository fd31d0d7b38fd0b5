#!/bin/sh
# Head ablation in the explorer, on the shipped agreement model: x in the
# all-heads overview (and in the attention matrix) zeroes the selected
# head, X restores every head. Checks the screen against the command line:
# the candidates' probabilities against `lmscope explain --ablate L.H,...
# --json`, their Δ against the unablated `explain`, the saliency (another
# pane under the same ablation) against explain's, and the status line.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/agreement
text='the keys to the cabinet'

# check SPEC: the candidate rows and saliency rows on screen against
# explain with --ablate SPEC ("" none: no Δ column may show).
check() {
	wait_for a "F1 help" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$text" "$1" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text, spec = sys.argv[2:6]
def explain(*a):
    cmd = [lm, "explain", model, "--text", text, "--top", "91", "--json"] + list(a)
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
base = {c["token"]: c["prob"] for c in explain()["top"]}
got = explain("--ablate", spec) if spec else explain()
want = {c["token"]: c["prob"] for c in got["top"]}
rows = [re.match(r"^ *(\d+).(\S+) .*?(?:\u0394 *([+-][0-9.]+) +)?([0-9.]+)% +(-?[0-9.]+)", l[:50])
        for l in lines]
rows = [r for r in rows if r]
assert len(rows) >= 8, lines
for r in rows[:8]:
    tok, d, p = r.group(2), r.group(3), float(r.group(4))
    assert abs(p - 100 * want[tok]) <= 0.006, (tok, p, want[tok])
    if spec:
        assert d is not None, ("no delta", r.group(0))
        assert abs(float(d.replace(" ", "")) - 100 * (want[tok] - base[tok])) <= 0.011, (tok, d)
    else:
        assert d is None, ("a delta without ablation", r.group(0))
# the saliency pane: the same ablated model (grad_norm, target the top)
sal = got["saliency"]["scores"]
title = [i for i, l in enumerate(lines) if "Saliency: grad_norm" in l][0]
shown = [float(l[:48].split()[-1]) for l in lines[title + 1:title + 1 + len(sal)]]
for s, w in zip(shown, sal):
    assert abs(s - w) <= 5.1e-3 * abs(w) + 1e-6, (shown, sal)
status = [l for l in lines if "params" in l][-1]
assert ("ablated " + spec in status) if spec else ("ablated" not in status), status
PYEOF
}

start a 120 40 "'$model' --text '$text'"
wait_for a "F1 help" || fail "no result"
check "" || fail "candidates before any ablation"
$T send-keys -t a F3
wait_for a "Overview: 2 layers x 4 heads" || fail "no overview"
$T send-keys -t a x
wait_for a "ablated 0.0 " || fail "x did not ablate head 0.0"
$T send-keys -t a Right x
wait_for a "ablated 0.0,0.1" || fail "x did not add head 0.1"
wait_for a "H1 0.68 ablated" || fail "the overview does not mark head 0.1 ablated"
check "0.0,0.1" || fail "the screen under ablation 0.0,0.1 differs from explain --ablate"
# in the matrix: x again on the picked head restores it
$T send-keys -t a Enter
wait_for a "Attention  layer 0 head 1" || fail "Enter did not pick head 0.1"
$T send-keys -t a x
wait_for a "head 0.1 restored" || fail "x did not restore head 0.1"
check "0.0" || fail "the screen under ablation 0.0 differs from explain --ablate"
$T send-keys -t a X
wait_for a "every head restored" || fail "X did not restore every head"
check "" || fail "the screen after X differs from the unablated explain"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

[ $fails = 0 ] && echo "ablate: all passed"
exit $((fails > 0))
