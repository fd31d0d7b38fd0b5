#!/bin/sh
# The divergence pane: the shipped agreement model beside a copy of it with
# its float16 weights perturbed (written here), V puts the pane in the
# lens's place. Every number on screen (each layer's KL, the worst head
# and its attention difference, the saliency rank correlation, the
# position and the target) against `lmscope explain A --compare B --json`
# at the last position, then at the token selected in the attention's
# query mode; V again brings the lens back. One model alone, and two
# models of different vocabularies, give a message instead.
set -u
. "$(dirname "$0")/lib/tmux.sh"
models=$(cd "$(dirname "$0")/../.." && pwd)/models
text='the keys to the cabinet'
cp -r "$models/agreement" "$d/b" || exit 1
/usr/bin/python3 - "$d/b/model.safetensors" <<'PYEOF' || exit 1
import json, struct, sys
import numpy as np
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
n = struct.unpack_from("<Q", data, 0)[0]
rng = np.random.default_rng(4)
for name, t in json.loads(data[8:8 + n]).items():
    if name == "__metadata__":
        continue
    assert t["dtype"] == "F16", t["dtype"]
    a, b = (8 + n + o for o in t["data_offsets"])
    v = np.frombuffer(bytes(data[a:b]), np.float16).astype(np.float32)
    data[a:b] = (v + rng.normal(0, 0.05, v.shape) * v.std()).astype(np.float16).tobytes()
open(p, "wb").write(bytes(data))
PYEOF

# check POS: the pane (left side) against explain --compare at POS.
check() {
	wait_for a "B vs A at $1 " || return 1
	sleep 0.3
	screen a
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$models/agreement" "$d/b" "$text" "$1" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, a, b, text, pos = sys.argv[2:7]
out = subprocess.run([lm, "explain", a, "--compare", b, "--text", text, "--position", pos, "--json"],
                     check=True, capture_output=True, text=True).stdout
c = json.loads(out)["compare"]
left = [l.split("\u2502")[0] for l in lines]
t = [i for i, l in enumerate(left) if "B vs A at " in l][0]
m = re.search(r'B vs A at (\d+) "([^"]*)": lens KL, worst head', left[t])
assert m and int(m.group(1)) == c["position"], left[t]
seen = 0
for l in left[t + 1:]:
    r = re.search(r"layer (\d+) .*?([-0-9.e+]+) +h(\d+) +([0-9.]+)$", l.rstrip())
    if r:
        L, kl, h, diff = int(r.group(1)), float(r.group(2)), int(r.group(3)), float(r.group(4))
        assert abs(kl - c["kl"][L]) <= 5e-4 * c["kl"][L] + 1e-12, (l, c["kl"])
        row = c["attn_maxdiff"][L]
        assert row[h] == max(row), (l, row)
        assert abs(diff - row[h]) <= 5.1e-5, (l, row)
        seen += 1
    r = re.search(r"saliency rho ([-+0-9.]+)  target (\S+)", l)
    if r:
        assert abs(float(r.group(1)) - c["saliency_spearman"]) <= 5.1e-5, (l, c["saliency_spearman"])
        assert r.group(2) == c["target"]["token"].replace(" ", "\u00b7"), (l, c["target"])
        seen += 1
assert seen == len(c["kl"]) + 1, ("rows seen", seen)
PYEOF
}

start a 162 36 "'$models/agreement' '$d/b' --text '$text'"
wait_for a " b | gpt2" || fail "no second model"
$T send-keys -t a Tab V
check 4 || fail "the divergence pane differs from explain --compare at the last position"
# the attention's query mode selects a token: the pane follows it
$T send-keys -t a BTab w Up
check 3 || fail "the divergence pane differs from explain --compare at the selected token"
$T send-keys -t a Tab V
wait_for a "Logit lens" || fail "V did not bring the lens back"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

start one 100 30 "'$models/agreement' --text '$text'"
wait_for one "F1 help" || fail "explorer one did not start"
$T send-keys -t one Tab V
wait_for one "compares two models" || fail "V with one model: no message"
$T send-keys -t one q
wait_for one "EXIT=0" || fail "explorer one did not quit cleanly"

start two 162 36 "'$models/agreement' '$models/induction' --text '$text'"
wait_for two " induction | final model" || fail "explorer two did not start"
$T send-keys -t two Tab V
wait_for two "induction: vocabulary size 143 differs" || fail "V with another vocabulary: no message"
$T send-keys -t two q
wait_for two "EXIT=0" || fail "explorer two did not quit cleanly"

[ $fails = 0 ] && echo "divergence: all passed"
exit $((fails > 0))
