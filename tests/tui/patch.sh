#!/bin/sh
# The activation patching pane on the shipped agreement model: H puts it in
# the attention's place, C edits the corrupted context (prefilled with the
# context). The heatmap of every site (v cycles them) and the logit
# differences against `lmscope patch --clean --corrupt --json`; contexts of
# different lengths give a one-line message.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/agreement
clean='the key to the cabinet'
corrupt='the keys to the cabinet'

# check SITE: the heatmap on screen against lmscope patch's SITE array.
check() {
	wait_for a "Patching $1" || return 1
	wait_for a "F1 help" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$clean" "$corrupt" "$1" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, clean, corrupt, site = sys.argv[2:7]
p = json.loads(subprocess.run([lm, "patch", model, "--clean", clean, "--corrupt", corrupt,
                               "--json"], check=True, capture_output=True, text=True).stdout)
t = [i for i, l in enumerate(lines) if "Patching " + site in l][0]
x = lines[t + 1].index("corrupted> ")
assert lines[t + 1][x:].startswith("corrupted> " + corrupt), lines[t + 1]
m = re.search(r"target (\S+) vs (\S+): LD clean ([-0-9.]+), corrupted ([-0-9.]+)", lines[t + 2])
assert m and m.group(1) == p["target"]["token"] and m.group(2) == p["contrast"]["token"], lines[t + 2]
assert abs(float(m.group(3)) - p["ld_clean"]) <= 5.1e-4, (m.group(3), p["ld_clean"])
assert abs(float(m.group(4)) - p["ld_corrupt"]) <= 5.1e-4, (m.group(4), p["ld_corrupt"])
want = p[site]
for l, row in enumerate(want):
    line = lines[t + 4 + l][x:]
    assert line.startswith("L%d" % l), line
    got = [float(v) for v in line[5:].split()[:len(row)]]
    assert len(got) == len(row), (line, row)
    for g, w in zip(got, row):
        assert abs(g - 100 * w) <= 0.51, (site, l, got, row)
PYEOF
}

start a 120 40 "'$model' --text '$clean'"
wait_for a "F1 help" || fail "no result"
$T send-keys -t a Tab H
wait_for a "Patching resid_pre" || fail "H did not show the patching pane"
wait_for a "no corrupted context" || fail "no message without a corrupted context"
$T send-keys -t a C
wait_for a "corrupted> $clean" || fail "C did not prefill the corrupted context"
# the corrupted context one token longer: a one-line message
$T send-keys -t a " now"
wait_for a "the contexts differ in length: clean 5 tokens, corrupted 6" ||
	fail "no message for contexts of different lengths"
i=0
while [ $i -lt 27 ]; do $T send-keys -t a BSpace; i=$((i + 1)); done
$T send-keys -t a "$corrupt" Enter
check resid_pre || fail "resid_pre heatmap differs from lmscope patch"
$T send-keys -t a v
check attn_out || fail "attn_out heatmap differs from lmscope patch"
$T send-keys -t a v
check mlp_out || fail "mlp_out heatmap differs from lmscope patch"
$T send-keys -t a v
check heads || fail "heads heatmap differs from lmscope patch"
# keys are commands again after Enter: H brings the attention back
$T send-keys -t a H
wait_for a "Attention  layer 0 head 0" || fail "H did not bring the attention back"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

[ $fails = 0 ] && echo "patch: all passed"
exit $((fails > 0))
