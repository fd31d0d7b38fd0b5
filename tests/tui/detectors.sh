#!/bin/sh
# The all-heads overview coloured by a head detector, on the shipped
# induction model: c cycles the overview's numbers from the mean entropy
# through the previous-token, duplicate-token and induction scores over
# the context; each on screen against `lmscope heads --text ... --json`;
# a score with nothing to average over (no repeated token) is "-".
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/induction
text='non po fi tun mo su re | non po fi tun mo su re | non po fi'

# check KEY [SESSION]: the overview's L x NH numbers (of session a) against
# heads' KEY scores.
check() {
	wait_for "${2:-a}" "F1 help" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$model" "$text" "$1" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, model, text, key = sys.argv[2:6]
assert "nan" not in "\n".join(lines), "nan on screen"
want = json.loads(subprocess.run([lm, "heads", model, "--text", text, "--json"], check=True,
                                 capture_output=True, text=True).stdout)[key]
seen = 0
for l in lines:
    m = re.search(r"L(\d+) +H0 ", l)
    if not m:
        continue
    got = [None if x == "-" else float(x) for x in re.findall(r"H\d+ (-|[-0-9.]+)", l)]
    w = want[int(m.group(1))]
    assert len(got) == len(w), (got, w)
    for a, b in zip(got, w):
        # null in heads' JSON: nothing to average over, "-" on screen
        assert a == b if b is None or a is None else abs(a - b) <= 0.0051, (key, m.group(1), got, w)
    seen += 1
assert seen >= 1, "no layer of the overview on screen"
PYEOF
}

start a 120 60 "'$model' --text '$text'"
wait_for a "F1 help" || fail "no result"
$T send-keys -t a F3
wait_for a "mean entropy in nats" || fail "no overview"
$T send-keys -t a c
wait_for a "previous-token score" || fail "c did not switch to the previous-token score"
check previous_token || fail "previous-token scores differ from lmscope heads"
$T send-keys -t a c
wait_for a "duplicate-token score" || fail "c did not switch to the duplicate-token score"
check duplicate_token || fail "duplicate-token scores differ from lmscope heads"
$T send-keys -t a c
wait_for a "induction score" || fail "c did not switch to the induction score"
check induction || fail "induction scores differ from lmscope heads"
$T send-keys -t a c
wait_for a "mean entropy in nats" || fail "c did not come back to the entropy"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

# a context without a repeated token: no duplicate-token or induction score
# to average, "-" like heads' table (null in its JSON), never nan
text='non po fi tun'
start b 120 60 "'$model' --text '$text'"
wait_for b "F1 help" || fail "b: no result"
$T send-keys -t b F3 c c
wait_for b "duplicate-token score" || fail "b: c did not switch to the duplicate-token score"
check duplicate_token b || fail "duplicate-token scores without a repeat differ from lmscope heads"
grep -q "L0 *H0 - " "$d/screen" || fail "no '-' for a score without a repeat: $(grep "L0 " "$d/screen")"
$T send-keys -t b q

[ $fails = 0 ] && echo "detectors: all passed"
exit $((fails > 0))
