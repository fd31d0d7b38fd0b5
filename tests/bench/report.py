"""Sets lmscope's benchmark figures beside PyTorch's (or another reference's).

Input lines: "<side> RESULT <key> <value> <unit>" where side is "lms" or a
reference name; for several runs of one reference (thread settings) the best
value is kept: the lowest time or memory, the highest rate. The ratio column
says how many times better lmscope is (>1 is better)."""
import sys

best = {}
order = []
for line in open(sys.argv[1]):
    if line.startswith("OpenBLAS kernel:"):
        print(line.rstrip())
        continue
    parts = line.split()
    if len(parts) != 5 or parts[1] != "RESULT":
        continue
    side, _, key, value, unit = parts
    value = float(value)
    higher_better = unit.endswith("/s")
    if key not in order:
        order.append(key)
    slot = best.setdefault(key, {})
    old = slot.get(side)
    if old is None or (value > old[0] if higher_better else value < old[0]):
        slot[side] = (value, unit)

print(f"{'workload':34} {'lmscope':>12} {'reference':>12}  {'ratio':>7}  unit")
for key in order:
    slot = best[key]
    mine = slot.get("lms")
    ref = [(s, v) for s, v in slot.items() if s != "lms"]
    ref_v = ref[0][1][0] if ref else None
    unit = (mine or ref[0][1])[1]
    ratio = ""
    if mine and ref_v:
        higher_better = unit.endswith("/s")
        r = mine[0] / ref_v if higher_better else ref_v / mine[0]
        ratio = f"{r:.2f}x"
    ms = f"{mine[0]:.4g}" if mine else "-"
    rs = f"{ref_v:.4g} ({ref[0][0]})" if ref else "-"
    print(f"{key:34} {ms:>12} {rs:>12}  {ratio:>7}  {unit}")
