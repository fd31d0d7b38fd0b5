#!/bin/sh
# An 80-column terminal (a classroom's projector, a default SSH window): the
# panes' legends and titles that do not fit give way to their short forms
# whole, never a word cut in the middle. At 80 x 24 on the shipped KJV
# Transformer: the attention legend's arrows, the lens title's target in
# its quotes, the deletion area's number, and the faithfulness line's
# methods each with its number; at 160 columns the full forms.
set -u
. "$(dirname "$0")/lib/tmux.sh"
model=$(cd "$(dirname "$0")/../.." && pwd)/models/kjv-transformer
text='In the beginning God'

# check: the settled screen's lines, each form at the width it is shown at
check() {
	/usr/bin/python3 - "$d/screen" "$1" <<'PYEOF'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
wide = sys.argv[2] == "wide"
def line_with(s):
    got = [l for l in lines if s in l]
    assert got, "no line with %r" % s
    return got[0]
legend = line_with("0%")
if wide:
    assert "100%  rows: query, columns: key" in legend, legend
else:
    assert re.search(r"100%  ↓query →key\s*$", legend), legend
lens = line_with("Logit lens at ")
m = re.search(r"Logit lens at \d+ '[^']*' \(last\)(: target '[^']*')?( rank, top \d+)?", lens)
assert m, lens
# what follows the title is the pane's edge: blanks or nothing
rest = lens[m.end():]
assert not rest.strip(), ("the lens title cut", lens)
assert wide == bool(m.group(2)), lens
area = line_with("deletion area ")
m = re.search(r"deletion area \d\.\d{3}(, lower = more faithful)?", area)
assert m, area
assert wide == bool(m.group(1)), area
rho = line_with("rank ρ:")
m = re.search(r"rank ρ:((?: \S+ [+-]\d\.\d\d)+)(.*)$", rho)
assert m, rho
# whole methods, then the pane's edge
assert not m.group(2).strip() or m.group(2).startswith("  "), ("a method cut", rho)
methods = len(m.group(1).split()) // 2
assert methods >= (3 if wide else 1), rho
PYEOF
}

start a 80 24 "'$model' --text '$text'"
settle a "deletion area" || fail "the explorer did not settle at 80 columns"
check narrow || fail "a title or legend cut at 80 columns"

start b 160 40 "'$model' --text '$text'"
settle b "deletion area" || fail "the explorer did not settle at 160 columns"
check wide || fail "the full titles and legends not shown at 160 columns"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "narrow: all screen checks passed"
