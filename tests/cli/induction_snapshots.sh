#!/bin/sh
# The training snapshots models/induction ships (models/README.md): the
# index lists the steps the Makefile keeps, each with its directory and
# nothing else beside them, every snapshot opens, the last is the model
# itself to F16 rounding, and the two changes models/README.md describes
# are in the data: from 1,500 to 2,200 the validation loss falls by more
# than half a nat while head 1.2's induction score (lmscope heads, on a
# held-out sequence) rises from below 0.2 to above 0.4 and head 0.1's
# previous-token score passes 0.4; at 3,000 the copy is not yet the top
# candidate in the third pass, at 4,000 it is.
LMSCOPE=${LMSCOPE:-./lmscope}
fail() { echo "induction_snapshots.sh: $*" >&2; exit 1; }
m=models/induction
[ -f $m/snapshots/index.json ] || fail "$m/snapshots/index.json missing"
want=$(sed -n 's/^INDUCTION_SNAPSHOTS := //p' Makefile)
[ -n "$want" ] || fail "no INDUCTION_SNAPSHOTS in the Makefile"
/usr/bin/python3 - "$LMSCOPE" $m "$want" <<'PYEOF' || fail "the snapshots do not show what models/README.md says"
import json, math, os, subprocess, sys
lm, m, want = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split()]
idx = json.load(open(os.path.join(m, "snapshots/index.json")))
assert [e["step"] for e in idx] == want, ([e["step"] for e in idx], want)
names = sorted(os.listdir(os.path.join(m, "snapshots")))
assert names == sorted(["index.json"] + [e["path"] for e in idx]), names
run = lambda *a: subprocess.run([lm, *a], capture_output=True, check=True, text=True).stdout
snap = lambda s: os.path.join(m, "snapshots", "step-%06d" % s)
for e in idx:
    assert "architecture:" in run("info", snap(e["step"])), e
# the last snapshot is the model (F16 both: the same weights)
third = "gon non te fun mo lu kon vo dan | gon non te fun mo lu kon vo dan | gon non te"
top = lambda d: json.loads(run("explain", d, "--text", third, "--top", "1", "--json",
                               "--no-faithfulness"))["top"][0]
a, b = top(m), top(snap(want[-1]))
assert a["token"] == b["token"] and abs(a["prob"] - b["prob"]) < 1e-3, (a, b)
loss = {e["step"]: e["valid_loss"] for e in idx}
heads = lambda s: json.loads(run("heads", snap(s), "--text", third, "--json"))
h0, h1 = heads(1500), heads(2200)
print("  valid loss %.2f -> %.2f; induction 1.2 %.2f -> %.2f; previous-token 0.1 %.2f -> %.2f" % (
      loss[1500], loss[2200], h0["induction"][1][2], h1["induction"][1][2],
      h0["previous_token"][0][1], h1["previous_token"][0][1]))
assert loss[1500] - loss[2200] > 0.5, loss
assert h0["induction"][1][2] < 0.2 < 0.4 < h1["induction"][1][2], (h0["induction"], h1["induction"])
assert h1["previous_token"][0][1] > 0.4, h1["previous_token"]
assert top(snap(3000))["token"] != "fun" and top(snap(4000))["token"] == "fun", (
       top(snap(3000)), top(snap(4000)))
PYEOF
echo "induction_snapshots.sh: ok"
