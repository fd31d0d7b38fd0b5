#!/bin/sh
# The direct logit attribution pane on the shipped agreement model: D puts
# it in the lens's place, Enter opens a layer into its heads. Every number
# on screen (the embeddings, each layer's attention = its heads + output
# bias, each head, each MLP, the final bias, the sum and the logit) against
# `lmscope explain --dla --json` for the same target, then with a contrast.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/agreement
text='the keys to the cabinet'

# check: the pane against explain --dla for the target (and contrast) in its title.
check() {
	wait_for a "F1 help" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$text" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text = sys.argv[2:5]
def explain(*a):
    cmd = [lm, "explain", model, "--text", text, "--top", "91", "--json"] + list(a)
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
ids = {c["token"]: c["id"] for c in explain()["top"]}
t = [i for i, l in enumerate(lines) if "Direct logit attribution: " in l][0]
m = re.search(r"attribution: (\S+)(?: - (\S+))?  sum ([-0-9.]+), logit(?: diff)? ([-0-9.]+)", lines[t])
args = ["--dla", "--target-id", str(ids[m.group(1)])]
if m.group(2):
    args += ["--contrast-id", str(ids[m.group(2)])]
dla = explain(*args)["dla"]
def near(shown, want):
    assert abs(float(shown) - want) <= 5.1e-4 + 1e-6 * abs(want), (shown, want)
near(m.group(3), dla["sum"])
near(m.group(4), dla["logit"])
x = lines[t].index("Direct logit")
seen = set()
for l in lines[t + 1:]:
    r = re.match(r"(embed|[-+] L(\d+) attn|   L(\d+)\.H(\d+)|   L(\d+) bias|  L(\d+) mlp|final bias)"
                 r" +([-+][0-9.]+)", l[x - 1:])
    if not r:
        continue
    v, g = float(r.group(7)), r.groups()
    if g[0] == "embed": near(v, dla["embed"])
    elif g[0] == "final bias": near(v, dla["final_bias"])
    elif g[1]: near(v, sum(dla["heads"][int(g[1])]) + dla["attn_bias"][int(g[1])])
    elif g[2]: near(v, dla["heads"][int(g[2])][int(g[3])])
    elif g[4]: near(v, dla["attn_bias"][int(g[4])])
    else: near(v, dla["mlp"][int(g[5])])
    seen.add("embed" if g[0] == "embed" else "final" if g[0] == "final bias" else
             "attn" if g[1] else "head" if g[2] else "bias" if g[4] else "mlp")
assert seen == {"embed", "attn", "head", "bias", "mlp", "final"}, seen
PYEOF
}

start a 120 40 "'$model' --text '$text'"
wait_for a "F1 help" || fail "no result"
$T send-keys -t a Tab D
wait_for a "Direct logit attribution: " || fail "D did not show the DLA pane"
$T send-keys -t a Down Enter
wait_for a "L0.H3" || fail "Enter did not open layer 0 into its heads"
check || fail "the DLA pane differs from explain --dla"
# a contrast: the second candidate
$T send-keys -t a BTab BTab BTab Down c
wait_for a "Direct logit attribution: are - were" || fail "no contrast in the DLA title"
wait_for a "L0.H3" || fail "layer 0 closed after the contrast"
check || fail "the DLA pane with a contrast differs from explain --dla"
# D again: the lens is back
$T send-keys -t a D
wait_for a "Logit lens" || fail "D did not bring the lens back"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

[ $fails = 0 ] && echo "dla: all passed"
exit $((fails > 0))
