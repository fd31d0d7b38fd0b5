#!/bin/sh
# What a teacher and a researcher hit in an hour with the explorer, each
# checked on the screen as a person sees it (tmux): exports never
# overwrite an earlier run's and carry the faithfulness numbers (against
# `lmscope explain`); "screen N ms" is this update's time, never the
# previous one's; probability bars on an absolute scale, and the
# temperature changes the distribution shown; the all-heads overview puts
# each layer's entropies on its own row and grows its thumbnails; two
# models side by side with a pin fit their columns (stacked when the screen
# is too narrow); pinned, the candidates title fits its pane at 80 and 160
# columns, in English and Chinese, shortened but ending in the pin's
# label; the help wraps, stops at its end and explains the
# focused pane; figures use the screen's palette (green raises, red
# lowers) and one-sided scales for one-sided scores; the context pane gives
# the surprisal as numbers (against explain); the BOS stays when a long
# context is cut.
set -u
. "$(dirname "$0")/lib/tmux.sh"

train gpt --arch gpt2 --layers 2 --heads 2 --embd 32 --context 32 --steps 40 --lr 0.02 \
	--warmup 1 --batch 4

# wait_file FILE: up to 10 s for FILE to exist and be non-empty.
wait_file() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ]
}

# --- exports: a new run never overwrites the last run's files ----------------------
start a 120 40 "gpt --text 'In the beginning God created'"
wait_for a "F1 help" || fail "explorer a did not start"
$T send-keys -t a Tab e
wait_file "$d/lmscope-export-1.json" || fail "no first export"
cp "$d/lmscope-export-1.txt" "$d/first.txt"
cp "$d/lmscope-export-1.json" "$d/first.json"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "q did not quit"
$T kill-session -t a
start a 120 40 "gpt --text 'And the earth was without form'"
wait_for a "F1 help" || fail "second explorer did not start"
$T send-keys -t a Tab e
wait_file "$d/lmscope-export-2.json" || fail "the second run's export is not numbered 2"
wait_for a "lmscope-export-2" || fail "the status line does not name export 2"
cmp -s "$d/first.txt" "$d/lmscope-export-1.txt" || fail "the second run overwrote lmscope-export-1.txt"
cmp -s "$d/first.json" "$d/lmscope-export-1.json" || fail "the second run overwrote lmscope-export-1.json"
grep -q "without" "$d/lmscope-export-2.txt" || fail "export 2 is not the second run's screen"
# the JSON carries the faithfulness shown on screen, as explain computes it
/usr/bin/python3 - "$d/lmscope-export-2.json" "$LMSCOPE" "$d/gpt" <<'EOF' || fail "the JSON export's faithfulness differs from explain"
import json, subprocess, sys
d = json.load(open(sys.argv[1]))
f = d["faithfulness"]
out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--text", "And the earth was without form",
                      "--target-id", str(d["target"]["id"]), "--method", d["saliency"]["method"],
                      "--faithfulness", "--json"], check=True, capture_output=True, text=True).stdout
want = json.loads(out)["faithfulness"]
assert len(f["deletion_curve"]) == len(d["ids"]) + 1, f
for a, b in zip(f["deletion_curve"], want["deletion_curve"]):
    assert abs(a - b) <= 1e-4, (f["deletion_curve"], want["deletion_curve"])
assert abs(f["deletion_area"] - want["deletion_area"]) <= 1e-4, (f, want)
assert set(f["agreement"]) == set(want["agreement"]), (f, want)
for k, v in want["agreement"].items():
    assert abs(f["agreement"][k] - v) <= 1e-3, (k, f["agreement"][k], v)
EOF
$T send-keys -t a C-c
wait_for a "EXIT=0" || fail "Ctrl-C did not quit"
$T kill-session -t a

# --- "screen N ms" is the shown update's own time ---------------------------------
# The screen time runs from the keystroke to the drawn screen, so it can
# never be below the update time of the result it shows. Methods of very
# different cost, one after the other, make a stale figure show.
start b 160 48 "gpt --text 'In the beginning God created the heaven and the earth. And the earth was without form, and void'"
wait_for b "F1 help" || fail "explorer b did not start"
$T send-keys -t b Tab
for want in grad_x_input integrated_gradients occlusion lime attention_rollout grad_norm \
	grad_x_input integrated_gradients occlusion lime attention_rollout grad_norm; do
	$T send-keys -t b m
	wait_all b "Saliency: $want " "F1 help" || { fail "no $want"; continue; }
	line=$(grep "update .* ms" "$d/screen" | tail -1)
	/usr/bin/python3 - "$line" <<'EOF' || fail "screen time below the update time with $want: $line"
import re, sys
u = float(re.search(r"update ([0-9.]+) ms", sys.argv[1]).group(1))
s = float(re.search(r"screen ([0-9.]+) ms", sys.argv[1]).group(1))
assert s >= u, (u, s)
c = re.search(r"candidates ([0-9.]+) ms", sys.argv[1])
assert c is None or float(c.group(1)) <= s, (c.group(1), s)
EOF
done
$T send-keys -t b C-c
wait_for b "EXIT=0" || fail "Ctrl-C did not quit b"

# --- probability bars: absolute 0-100% by default; the temperature changes them ----
# check_bars T RELATIVE: every candidate row at 120 columns (bars 12 cells
# wide from column 21) against softmax(log p / T) over the whole vocabulary
# from `lmscope explain --json` (the word-level vocabulary is small): the
# percentage shown, and the bar's length (p, or p / p_top when RELATIVE).
check_bars() {
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$d/gpt" "$1" "$2" <<'EOF'
import json, math, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
T, rel = float(sys.argv[4]), sys.argv[5] == "1"
text = lines[0][2:].rstrip()
out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--text", text, "--top", "100000",
                      "--json"], check=True, capture_output=True, text=True).stdout
top = json.loads(out)["top"]
z = [c["logprob"] / T for c in top]
m = max(z)
lse = m + math.log(sum(math.exp(x - m) for x in z))
p = [math.exp(x - lse) for x in z]
eighths = {"█": 8, "▉": 7, "▊": 6, "▋": 5, "▌": 4, "▍": 3, "▎": 2, "▏": 1}
rows = [l for l in lines if l[:3].strip().isdigit() and "%" in l[:48]]
assert len(rows) >= 5, rows
for i, row in enumerate(rows[:8]):
    shown = float(row[34:48].split("%")[0])
    assert abs(shown - 100 * p[i]) <= 0.0051, (i, row, 100 * p[i])
    bar = sum(eighths.get(ch, 0) for ch in row[21:33]) / 8
    want = 12 * (p[i] / p[0] if rel else p[i])
    assert abs(bar - want) <= 1 / 8 + 1e-6 or (want < 1 / 16 and bar == 1 / 8), (i, row, bar, want)
EOF
}
start c 120 40 "gpt --text 'And the'"
wait_for c "F1 help" || fail "explorer c did not start"
check_bars 1 0 || fail "bars are not on an absolute 0-100% scale"
$T send-keys -t c Tab t
wait_all c "T=0.80" "F1 help" || fail "t did not lower the temperature"
check_bars 0.8 0 || fail "the candidates shown do not follow the temperature"
$T send-keys -t c b
wait_for c "bars relative to the top" || fail "b did not switch to relative bars"
check_bars 0.8 1 || fail "relative bars are not scaled to the top candidate"
$T send-keys -t c C-c
wait_for c "EXIT=0" || fail "Ctrl-C did not quit c"

# --- all-heads overview: entropies on their layer's row, thumbnails that grow ------
# At 160x48 the overview's thumbnails have room for 8 rows and more; each
# layer's label row carries that layer's entropies (mean over queries of
# -sum p log p, computed here from the exported attention).
start o 160 48 "gpt --text 'In the beginning God created the heaven and the earth'"
wait_for o "F1 help" || fail "explorer o did not start"
$T send-keys -t o Tab e
wait_file "$d/lmscope-export-3.json" || fail "no export for the overview check"
$T send-keys -t o o
wait_all o "Overview: 2 layers x 2 heads" "H1 " || fail "no overview at 160x48"
/usr/bin/python3 - "$d/screen" "$d/lmscope-export-3.json" <<'EOF' || fail "overview entropies are not on their layer's row, or the thumbnails did not grow"
import json, math, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
att = json.load(open(sys.argv[2]))["attention"]
x0 = lines[3].index("Overview") - 1
rows = {}
for y, l in enumerate(lines):
    m = re.match(r"L(\d+) ", l[x0:])
    if m:
        rows[int(m.group(1))] = (y, l[x0:])
assert sorted(rows) == [0, 1], rows
assert rows[1][0] - rows[0][0] >= 10, ("thumbnails too small", rows)
for layer, (y, text) in rows.items():
    shown = {int(h): float(e) for h, e in re.findall(r"H(\d+) ([0-9]+\.[0-9]+)", text)}
    assert sorted(shown) == [0, 1], text
    for h, a in enumerate(att[layer]):
        n = len(a)
        want = sum(-p * math.log(p) for row in a for p in row if p > 0) / n
        assert abs(shown[h] - want) <= 0.0051, (layer, h, shown[h], want)
EOF
$T send-keys -t o C-c
wait_for o "EXIT=0" || fail "Ctrl-C did not quit o"

# --- two models side by side with a pin: long names stay out of the Δ column ------
# A vocabulary of long words, two sides of 79 columns, pinned: every
# candidate row keeps a space between the (clipped) token and its Δ, and the
# percentage after it.
for i in $(seq 1 30); do
	echo "Mahershalalhashbaz and the Jerusalemites went down to Bethshemesh with the Abiezrites and the Zarephathites."
done > "$d/long.txt"
"$LMSCOPE" train "$d/long.txt" -o "$d/long" --arch gpt2 --layers 1 --heads 2 --embd 16 --context 16 \
	--steps 5 > "$d/train.log" 2>&1 || { cat "$d/train.log"; fail "cannot train the long-word model"; }
start s 160 48 "long gpt --text 'Mahershalalhashbaz and the'"
wait_for s "F1 help" || fail "the side-by-side explorer did not start"
$T send-keys -t s F9
wait_for s "pinned" || fail "F9 did not pin"
$T send-keys -t s " Jerusalemites"
wait_all s "context 4/16" "F1 help" || fail "no result after typing beside the pin"
/usr/bin/python3 - "$d/screen" <<'EOF' || fail "long candidate names run into the Δ column"
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
rows = [l[:34] for l in lines if re.match(r"^ *[0-9]+.\S", l[:34]) and "%" in l[:34]]
assert len(rows) >= 5, rows
for r in rows:
    assert re.match(r"^ *[0-9]+.\S+ +Δ *[-+][0-9.]+ +[0-9.]+% +-?[0-9.]+$", r.rstrip()), r
EOF
# the status line keeps the update time at 79 columns
tail -1 "$d/screen" | grep -Eq "update [0-9.]+ ms.*│.*update [0-9.]+ ms" ||
	fail "the side-by-side status lines dropped the timings: $(tail -1 "$d/screen")"
$T send-keys -t s C-c
wait_for s "EXIT=0" || fail "Ctrl-C did not quit s"
# too narrow for two columns, tall enough for two rows: stacked, not "too small"
start t 100 44 "long gpt --text 'Mahershalalhashbaz and the'"
wait_for t "F1 help" || fail "two models on 100x44 show no result"
grep -q "terminal too small" "$d/screen" && fail "two models on 100x44 are not stacked"
[ "$(grep -c "params" "$d/screen")" = 2 ] || fail "the stacked sides do not both show their status line"
$T send-keys -t t C-c
wait_for t "EXIT=0" || fail "Ctrl-C did not quit t"

# --- pinned, the candidates title fits its pane, in English and Chinese -----------
# At 160 columns in full (the temperature, the pin's "Δ vs '…he beginning
# God'"); at 80 (a pane of 37 columns) shortened to the pin's Δ and what
# fits of its context; with a lower temperature, relative bars and a
# contrast too, still ending in the whole Δ label (the saliency title as
# well). The title runs from the pane's start to the attention pane's title.
root=$(cd "$(dirname "$0")/../.." && pwd)
for lang in en zh; do
	for cols in 160 80; do
		name=pin$lang$cols env=
		[ $lang = zh ] && env="LANGUAGE=zh_CN LMSCOPE_LOCALEDIR='$root/build/locale'"
		$T new-session -d -s $name -x $cols -y 30 -c "$d" \
			"$env TERM=xterm-256color \"$LMSCOPE\" gpt --text 'In the beginning God'; echo EXIT=\$?; sleep 60"
		settle $name "4/32" || { fail "$lang $cols: the explorer did not start"; continue; }
		$T send-keys -t $name F9
		wait_for $name "Δ" > /dev/null || fail "$lang $cols: F9 did not pin"
		$T send-keys -t $name BSpace BSpace BSpace made
		settle $name "4/32" || fail "$lang $cols: no result after the edit"
		widths $cols || fail "$lang $cols: a line overruns the terminal"
		cp "$d/screen" "$d/pinned"
		$T send-keys -t $name Tab b Down c t
		settle $name "T=0.80" || fail "$lang $cols: b, c, t did not show"
		/usr/bin/python3 - "$d/pinned" "$d/screen" $lang $cols <<'EOF' || fail "$lang $cols: a pinned title (candidates or saliency) is cut"
import re, sys
lang, cols = sys.argv[3], int(sys.argv[4])
def title(path):
    for l in open(path, encoding="utf-8").read().split("\n"):
        m = re.match(r"^ ((Next token|下一个词元).*?) *(Attention|注意力)  ", l)
        if m:
            return m.group(1)
    raise SystemExit("no candidates title in " + path)
pin = r"  Δ vs '…?[^']*'$" if lang == "en" else r"  相对“…?[^”]*”的 Δ$"
first, second = title(sys.argv[1]), title(sys.argv[2])
if cols == 160:
    full = "Next token  (T=1.00)  Δ vs '…he beginning God'" if lang == "en" else \
        "下一个词元  （T=1.00）  相对“…he beginning God”的 Δ"
    assert first == full, first
else:
    assert re.search(pin, first) and ("God'" in first or "God”" in first), first
# shortened or not, the title ends in the pin's whole label, at least its Δ
assert re.search(pin, second) or second.endswith("  Δ"), second
assert "T=0.80" in second, second
# the saliency title (c set a contrast) keeps the contrast and ends in the
# pin's label too: at 80 columns without the method's name
sal = [l.strip() for l in open(sys.argv[2], encoding="utf-8").read().split("\n")
       if re.match(r"^ (Saliency|显著性)", l)]
assert sal, "no saliency title"
assert re.search(pin, sal[0]) or sal[0].endswith("  Δ"), sal[0]
assert re.search(r"(vs|对) created", sal[0]), sal[0]
EOF
		$T send-keys -t $name C-c
		wait_for $name "EXIT=0" > /dev/null || fail "$lang $cols: Ctrl-C did not quit"
	done
done

# --- help: wraps its lines, stops at its end, explains the focused pane ----------
start h 80 24 "gpt --text 'In the'"
wait_for h "F1 help" || fail "explorer h did not start"
$T send-keys -t h F1
settle h "lmscope help" || fail "no help on F1"
# the F5 line's text, longer than the help column at 80 columns, continues on the next row
/usr/bin/python3 - "$d/screen" <<'EOF' || fail "the help cuts a line instead of wrapping it"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
y = [i for i, l in enumerate(lines) if " F5 " in l][0]
text = " ".join(l[4 + 23:4 + 71].strip() for l in lines[y:y + 2])
assert "export the views (text as seen, SVG and PNG figure, JSON)" in text, text
EOF
for i in $(seq 1 40); do $T send-keys -t h NPage; done
sleep 0.3
wait_for h "Mouse: click a token" || fail "the help scrolled past its end"
grep -q "more\.\.\." "$d/screen" && fail "the help says more at its end"
$T send-keys -t h x Tab "?"
wait_all h "Next-token candidates" "probability for each possible next token" ||
	fail "? in the candidates pane does not open its explanation"
$T send-keys -t h x
$T send-keys -t h C-c
wait_for h "EXIT=0" || fail "Ctrl-C did not quit h"

# --- figures use the screen's palette: green raises, red lowers; one-sided scales ---
# count_hues SVG: the coloured fills of a figure, as "GREEN RED" counts
count_hues() {
	grep -o 'fill:rgb([^)]*)' "$1" | /usr/bin/python3 -c '
import re, sys
g = r = 0
for l in sys.stdin:
    v = [float(x) for x in re.findall(r"([0-9.]+)%", l)]
    if max(v) - min(v) < 15:
        continue  # grey, black, near white
    g += v[1] > v[0] + 10 and v[1] >= v[2]
    r += v[0] > v[1] + 10 and v[0] >= v[2]
print(g, r)'
}
"$LMSCOPE" explain "$d/gpt" --text "In the beginning God" --method grad_x_input --figure "$d/signed.svg" > /dev/null ||
	fail "explain --figure failed"
set -- $(count_hues "$d/signed.svg")
[ "$1" -ge 20 ] && [ "$2" -ge 20 ] ||
	fail "a signed figure's scale is not red (lowers) to green (raises): $1 green, $2 red fills"
"$LMSCOPE" explain "$d/gpt" --text "In the beginning God" --method grad_norm --figure "$d/size.svg" > /dev/null ||
	fail "explain --figure failed"
set -- $(count_hues "$d/size.svg")
[ "$1" -ge 40 ] && [ "$2" -le 5 ] || fail "grad_norm's figure has a two-sided scale: $1 green, $2 red fills"
set -- $(count_hues "$d/lmscope-export-1.svg")
[ "$1" -ge 40 ] && [ "$2" -le 5 ] ||
	fail "the explorer's grad_norm figure has a two-sided scale: $1 green, $2 red fills"

# --- surprisal as numbers: the selected token's, the sum and the perplexity -------
start u 120 40 "gpt --text 'In the beginning God created'"
wait_for u "F1 help" || fail "explorer u did not start"
/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$d/gpt" <<'EOF' || fail "the surprisal numbers differ from explain"
import json, math, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
m = re.search(r"(\S+) ([0-9.]+) nats \| sum ([0-9.]+), ppl ([0-9.]+)", lines[2])
assert m, lines[2]
words = "In the beginning God created".split()
sur = []
for t in range(1, len(words)):
    out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--text", " ".join(words[:t]),
                          "--top", "100000", "--json"], check=True, capture_output=True, text=True)
    lp = {c["token"]: c["logprob"] for c in json.loads(out.stdout)["top"]}
    sur.append(-lp[words[t]])
assert m.group(1) == words[-1], m.group(1)
assert abs(float(m.group(2)) - sur[-1]) <= 0.0051, (m.group(2), sur[-1])
assert abs(float(m.group(3)) - sum(sur)) <= 0.051, (m.group(3), sum(sur))
ppl = math.exp(sum(sur) / len(sur))
assert abs(float(m.group(4)) - ppl) <= 0.0051 * max(1, ppl), (m.group(4), ppl)
EOF
$T send-keys -t u C-c
wait_for u "EXIT=0" || fail "Ctrl-C did not quit u"

# --- a long llama2.c context is cut after its BOS, not before ---------------------
if [ -f ../shared/tokenizers/llama2/tokenizer.bin ]; then
	llama2c_model "$d/r32k.bin"
	cp ../shared/tokenizers/llama2/tokenizer.bin "$d/tokenizer.bin"
	long="Once upon a time there was a little girl. She liked to play in the park with her dog. One day the dog ran after a ball and did not come back, so she looked for it everywhere. She asked the old man at the gate and the baker on the corner, and at last she found the dog asleep under a tree"
	start g 250 40 "r32k.bin --tokenizer tokenizer.bin --text '$long'"
	wait_for g "(cut)" || fail "the long llama2.c context was not cut"
	wait_for g "F1 help" || fail "no result for the cut llama2.c context"
	sed -n 2p "$d/screen" | grep -Eq "^<s> (✂|<cut )" || fail "the cut is not after the BOS: $(sed -n 2p "$d/screen")"
	$T send-keys -t g Tab e
	wait_file "$d/lmscope-export-4.json" || fail "no export of the cut llama2.c context"
	/usr/bin/python3 - "$d/lmscope-export-4.json" "$LMSCOPE" "$d/r32k.bin" "$d/tokenizer.bin" <<'PYEOF' || fail "the cut llama2.c context does not start with BOS, or predicts otherwise than explain on its ids"
import json, subprocess, sys
d = json.load(open(sys.argv[1]))
assert d["cut"] > 0 and d["ids"][0] == 1 and len(d["ids"]) <= 64, (d["cut"], d["ids"][:3])
out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--tokenizer", sys.argv[4], "--ids",
                      ",".join(map(str, d["ids"])), "--top", "1", "--json"],
                     check=True, capture_output=True, text=True).stdout
assert json.loads(out)["top"][0]["id"] == d["top"][0]["id"]
PYEOF
	$T send-keys -t g C-c
else
	echo "SKIP: views.sh BOS cut: ../shared/tokenizers/llama2/tokenizer.bin missing"
fi

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "views: all screen checks passed"
