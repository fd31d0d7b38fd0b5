#!/bin/sh
# The explorer end to end: tmux runs it at a fixed size, send-keys types and
# presses keys, capture-pane reads the screen. Asserts what a person sees:
# the candidates and their order (against `lmscope explain --json` on the
# same context), the bars, the attention matrix, a change of head, typing,
# the cut marker, resize and the too-small message, the help overlay, the
# recurrent pane, export, and quitting (q, Ctrl-C, a crash signal) with the
# terminal restored.
set -u
. "$(dirname "$0")/lib/tmux.sh"

# A tiny word-level GPT-2 and LSTM, trained a little so heads differ.
train gpt --arch gpt2 --layers 2 --heads 2 --embd 32 --context 32 --steps 40 --lr 0.02 \
	--warmup 1 --batch 4
train lstm --arch lstm --layers 2 --embd 16 --hidden 16 --context 16 --steps 2

# check_saliency METHOD: the saliency rows on screen (session a) against
# `lmscope explain --json` for the same context, target, contrast and method.
check_saliency() {
	wait_for a "F1 help" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$d/gpt" "$1" <<'EOF'
import json, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
title = [l for l in lines if "Saliency: " + sys.argv[4] in l][0]
words = title[:48].split()
text = lines[0][2:].rstrip()
def explain(*a):
    out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--text", text, "--json"] + list(a),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)
ids = {c["token"]: c["id"] for c in explain("--top", "50")["top"]}
args = ["--target-id", str(ids[words[3]]), "--method", sys.argv[4]]
if len(words) > 5 and words[4] == "vs":
    args += ["--contrast-id", str(ids[words[5]])]
want = explain(*args)["saliency"]["scores"]
start = lines.index(title) + 1
if lines[start][:48].startswith("(") and lines[start][:48].rstrip().endswith(")"):
    start += 1  # the method's note on its reliability
shown = [float(l[:48].split()[-1]) for l in lines[start:start + len(want)]]
assert len(shown) == len(want)
for s, w in zip(shown, want):
    # the pane prints three significant digits (%.3g): half a unit of the last
    assert abs(s - w) <= 5.1e-3 * abs(w) + 1e-6, (shown, want)
EOF
}

# check_faith METHOD: the saliency pane's faithfulness footer (session a)
# against the "faithfulness" of `lmscope explain --json --faithfulness` for
# the same context, target, contrast and method: the deletion area and the
# rank agreement with each other cheap method.
check_faith() {
	wait_for a "rank ρ:" || return 1
	wait_for a "F1 help" || return 1
	/usr/bin/python3 - "$d/screen" "$LMSCOPE" "$d/gpt" "$1" <<'EOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
title = [l for l in lines if "Saliency: " + sys.argv[4] in l][0]
words = title[:48].split()
text = lines[0][2:].rstrip()
def explain(*a):
    out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--text", text, "--json"] + list(a),
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)
ids = {c["token"]: c["id"] for c in explain("--top", "50")["top"]}
args = ["--target-id", str(ids[words[3]]), "--method", sys.argv[4], "--faithfulness"]
if len(words) > 5 and words[4] == "vs":
    args += ["--contrast-id", str(ids[words[5]])]
want = explain(*args)["faithfulness"]
area = [l[:48] for l in lines if l.startswith("deletion area")][0]
shown = float(area.split()[2].rstrip(","))
assert abs(shown - want["deletion_area"]) <= 5.1e-4, (area, want["deletion_area"])
rho = [l[:48] for l in lines if l.startswith("rank ρ:")][0]
short = {"grad": "grad_norm", "grad\u00d7x": "grad_x_input", "occl": "occlusion",
         "roll": "attention_rollout"}
pairs = re.findall(r"(\S+) ([+-][0-9.]+)", rho.split(":", 1)[1])
got = {short[k]: float(v) for k, v in pairs}
assert set(got) == set(want["agreement"]), (rho, want["agreement"])
for k, v in want["agreement"].items():
    assert abs(got[k] - v) <= 5.1e-3, (k, got[k], v)
EOF
}

# --- candidates, bars, matrix ------------------------------------------------------
start a 120 40 "gpt --text 'In the beginning God created'"
wait_for a "Attention  layer 0 head 0" || fail "the explorer did not show attention"
wait_for a "F1 help" || fail "no result within 10 s"
screen a
candidates | head -3 > "$d/shown"
explain_top "$d/gpt" "In the beginning God created" 3 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || { fail "candidates differ from explain"; cat "$d/shown" "$d/expected"; }
grep "^  1" "$d/screen" | grep -q "█" || fail "no probability bar on the top candidate"
grep -q "context 5/32" "$d/screen" || fail "status line lacks the context length"
grep -q "params" "$d/screen" || fail "status line lacks the parameter count"
grep -Eq "update [0-9.]+ ms" "$d/screen" || fail "status line lacks the update time"
# the first query can only attend to itself: 100 in the matrix's first row
grep -Eq "^.{49}In +100" "$d/screen" || fail "attention matrix row 0 is not 100%"
# the matrix rows are the tokens, in order
for t in In the beginning God created; do
	grep -Eq "^.{49}$t " "$d/screen" || fail "no matrix row for $t"
done
sed -n '8,12p' "$d/screen" | cut -c50- > "$d/head0"
grep -q "Saliency: grad_norm" "$d/screen" || fail "no saliency pane"
check_saliency grad_norm || fail "grad_norm scores differ from explain"
check_faith grad_norm || fail "grad_norm faithfulness differs from explain"

# --- change of head ---------------------------------------------------------------
$T send-keys -t a Tab .
wait_for a "Attention  layer 0 head 1" || fail "head did not change"
sleep 0.2
screen a
sed -n '8,12p' "$d/screen" | cut -c50- > "$d/head1"
cmp -s "$d/head0" "$d/head1" && fail "the matrix did not change with the head"
$T send-keys -t a ]
wait_for a "Attention  layer 1 head 1" || fail "layer did not change"
$T send-keys -t a M
wait_for a "layer 1, mean of 2 heads" || fail "no mean over heads"

# --- overview and query mode ------------------------------------------------------
$T send-keys -t a o
wait_for a "Overview: 2 layers x 2 heads" || fail "no overview"
wait_for a "H1 " || fail "no heads in the overview"
grep -Eq "H0 [0-9]+\.[0-9][0-9]" "$d/screen" || fail "no head entropy in the overview"
$T send-keys -t a Enter w
wait_for a "its attention over the context" || fail "no query mode"
$T send-keys -t a w

# --- typing: the candidates follow the context ------------------------------------
$T send-keys -t a Escape
$T send-keys -t a " the heaven"
wait_for a "context 7/32" || fail "typing did not update the context"
wait_for a "F1 help" || fail "no result after typing"
screen a
candidates | head -1 > "$d/shown"
explain_top "$d/gpt" "In the beginning God created the heaven" 1 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || { fail "top candidate after typing differs from explain"; cat "$d/shown" "$d/expected"; }

# --- help overlay -------------------------------------------------------------------
$T send-keys -t a F1
wait_for a "lmscope help" || fail "no help on F1"
grep -q "switch the saliency method" "$d/screen" || fail "help lacks the key table"
$T send-keys -t a x
i=0; while screen a && grep -q "lmscope help" "$d/screen" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "lmscope help" "$d/screen" && fail "help did not close"

# --- export -------------------------------------------------------------------------
$T send-keys -t a Tab e
i=0; while [ ! -s "$d/lmscope-export-1.json" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$d/lmscope-export-1.txt" ] || fail "no text export"
grep -q "Next token" "$d/lmscope-export-1.txt" 2>/dev/null || fail "text export lacks the screen"
grep -q "<svg" "$d/lmscope-export-1.svg" 2>/dev/null || fail "no SVG figure export"
/usr/bin/python3 - "$d/lmscope-export-1.json" "$LMSCOPE" "$d/gpt" <<'EOF' || fail "JSON export is wrong"
import json, math, subprocess, sys
d = json.load(open(sys.argv[1]))
words = ["In", "the", "beginning", "God", "created", "the", "heaven"]
assert d["tokens"] == words, d["tokens"]
assert d["top"][0]["id"] == d["target"]["id"]
assert len(d["saliency"]["scores"]) == 7 and len(d["attention"]) == 2
assert abs(d["attention"][0][0][0][0] - 1.0) < 1e-6
# surprisal of each token (computed incrementally while typing) against
# -log p of that token given its prefix, from explain on the prefix alone
assert d["surprisal"][0] is None
for t in range(1, 7):
    out = subprocess.run([sys.argv[2], "explain", sys.argv[3], "--text", " ".join(words[:t]),
                          "--top", "100", "--json"], check=True, capture_output=True, text=True)
    lp = {c["id"]: c["logprob"] for c in json.loads(out.stdout)["top"]}
    want = -lp[d["ids"][t]]
    assert abs(d["surprisal"][t] - want) < 1e-3 * max(1, want), (t, d["surprisal"][t], want)
EOF

# --- contrast and method switch, checked against explain ---------------------------
# the candidates pane has the focus (Tab above): select the second candidate
# and make it the contrast; the target becomes the first again
$T send-keys -t a Down c
wait_for a " vs " || fail "no contrast in the saliency title"
$T send-keys -t a m
wait_for a "Saliency: grad_x_input" || fail "method did not switch"
sleep 0.3
screen a
# the scores shown against explain --json on the same question
check_saliency grad_x_input || fail "grad_x_input scores differ from explain"
check_faith grad_x_input || fail "grad_x_input faithfulness (with a contrast) differs from explain"
# the other methods come through the attribution library
$T send-keys -t a x m
wait_for a "Saliency: integrated_gradients" || fail "no integrated gradients"
wait_for a "completeness gap" || fail "no completeness gap for integrated gradients"
$T send-keys -t a m
wait_for a "Saliency: occlusion" || fail "no occlusion"
sleep 0.3
check_saliency occlusion || fail "occlusion scores differ from explain"
$T send-keys -t a m
wait_for a "Saliency: lime" || fail "no lime"
$T send-keys -t a m
wait_for a "Saliency: attention_rollout" || fail "no attention rollout"
$T send-keys -t a m
wait_for a "Saliency: grad_norm  for" || fail "method did not cycle back to grad_norm"

# --- step-by-step generation: a appends the target, s samples ----------------------
screen a
top=$(candidates | head -1)
$T send-keys -t a a
wait_for a "context 8/32" || fail "a did not append a token"
line=$(sed -n 1p "$d/screen")
case "$line" in *"$top") ;; *) fail "appended text is not the top candidate $top: $line" ;; esac
$T send-keys -t a s
wait_for a "context 9/32" || fail "s did not sample a token"

# --- mouse: a click on the third candidate makes it the target ---------------------
wait_for a "F1 help" || fail "no result before the click"
screen a
third=$(candidates | sed -n 3p)
$T send-keys -t a -l "$(printf '\033[<0;6;7M')"
$T send-keys -t a -l "$(printf '\033[<0;6;7m')"
wait_for a "Saliency: grad_norm  for $third" || fail "a click did not select candidate 3 ($third)"

# --- wide characters in the context line ------------------------------------------
$T send-keys -t a Escape
$T send-keys -t a " 日本"
wait_for a "日本" || fail "wide characters were not echoed"
$T send-keys -t a C-w
i=0; while screen a && grep -q "日本" "$d/screen" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "日本" "$d/screen" && fail "Ctrl-W did not delete the word"
$T send-keys -t a Tab

# --- resize and too small -----------------------------------------------------------
$T resize-window -t a -x 80 -y 24
wait_for a "Next token" || fail "nothing after resize"
i=0; while screen a && ! sed -n 24p "$d/screen" | grep -q "params" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sed -n 24p "$d/screen" | grep -q "params" || fail "status line not on the last row after resize"
/usr/bin/python3 -c 'import sys; sys.exit(any(len(l.rstrip("\n")) > 80 for l in open(sys.argv[1], encoding="utf-8")))' "$d/screen" ||
	fail "lines wider than the terminal"
$T resize-window -t a -x 40 -y 10
wait_for a "terminal too small" || fail "no too-small message"
$T resize-window -t a -x 100 -y 30
wait_for a "Attention" || fail "no recovery from too small"

# --- q quits with status 0 and the terminal is restored ---------------------------
$T send-keys -t a q
wait_for a "EXIT=0" || fail "q did not quit with status 0"
grep -q "Next token" "$d/screen" && fail "the screen was not restored"

# --- context longer than the model: cut from the left with a marker ---------------
long="In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep. And God"
start b 120 40 "gpt --text '$long'"
# 33 tokens for 32 positions: the cut moves in steps of 32 / 8 = 4 tokens
# (so that typing on reuses the kept prefix): 4 cut, 29 left
wait_for b "context 29/32 (cut)" || fail "no cut in the status line"
grep -Eq "^(✂4…|<cut 4>) created " "$d/screen" || fail "no cut marker before the tokens"
wait_for b "F1 help" || fail "no result for the cut context"
candidates | head -1 > "$d/shown"
explain_top "$d/gpt" "${long#In the beginning God }" 1 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || fail "the cut context's top candidate differs from explain on the kept text"
$T send-keys -t b C-c
wait_for b "EXIT=0" || fail "Ctrl-C did not quit with status 0"

# --- recurrent model: activations instead of attention ----------------------------
start c 120 40 "lstm --text 'In the beginning'"
wait_for c "Recurrent activations  layer 0/1  hidden state h" || fail "no recurrent pane"
# history: Enter keeps the context, Ctrl-U clears the line, Up recalls it
$T send-keys -t c Enter C-u
wait_for c "context 0/" || fail "Ctrl-U did not clear the context"
$T send-keys -t c Up
wait_for c "context 3/" || fail "Up did not recall the context from the history"
sed -n 1p "$d/screen" | grep -q "^> In the beginning" || fail "the recalled context is not the kept one"
wait_for c "F1 help" || fail "no result for the recalled context"
candidates | head -1 > "$d/shown"
explain_top "$d/lstm" "In the beginning" 1 > "$d/expected"
cmp -s "$d/shown" "$d/expected" || fail "candidates for the recalled context differ from explain"
$T send-keys -t c Tab .
wait_for c "input gate i" || fail "no gate view for the LSTM"
$T send-keys -t c Tab q
wait_for c "EXIT=0" || fail "q did not quit the recurrent explorer"

# --- NO_COLOR: monochrome, shades as glyphs --------------------------------------
$T new-session -d -s f -x 120 -y 40 -c "$d" \
	"NO_COLOR=1 TERM=xterm-256color \"$LMSCOPE\" gpt --text 'In the beginning'; echo EXIT=\$?; sleep 60"
wait_for f "Attention  layer 0 head 0" || fail "no explorer under NO_COLOR"
grep -q "▓" "$d/screen" || fail "no shade glyphs in the monochrome legend"
$T send-keys -t f C-c
wait_for f "EXIT=0" || fail "Ctrl-C did not quit under NO_COLOR"

# --- llama2.c's tokenizer: the context starts with BOS, as llama2.c feeds it -------
LLAMA2_TOK=../shared/tokenizers/llama2/tokenizer.bin
if [ ! -f $LLAMA2_TOK ]; then
	echo "SKIP: explorer.sh llama2.c BOS: $LLAMA2_TOK missing"
else
	llama2c_model "$d/r32k.bin"
	cp $LLAMA2_TOK "$d/tokenizer.bin"
	start g 120 40 "r32k.bin --tokenizer tokenizer.bin --text 'Once upon'"
	wait_for g "F1 help" || fail "explorer g did not start"
	sed -n 2p "$d/screen" | grep -q "^<s> ·Once ·upon" ||
		fail "no BOS before a llama2.c context: $(sed -n 2p "$d/screen")"
	candidates | head -1 > "$d/shown"
	"$LMSCOPE" explain "$d/r32k.bin" --tokenizer "$d/tokenizer.bin" --text 'Once upon' --top 1 --json |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["top"][0]["token"].replace(" ", "·"))' > "$d/expected"
	cmp -s "$d/shown" "$d/expected" || { fail "llama candidates differ from explain"; cat "$d/shown" "$d/expected"; }
	$T send-keys -t g q
fi

# --- Home and End as a multiplexer sends them (\e[1~, \e[4~, not the \eOH and
# \eOF of TERM=xterm-256color's terminfo) are keys, never typed into the context
start h 100 30 "gpt --text 'In the'"
wait_for h "F1 help" || fail "explorer h did not start"
$T send-keys -t h Home End
sleep 0.5
$T send-keys -t h -l " beginning"
wait_for h "> In the beginning" || fail "explorer h: typing after Home/End"
sed -n 1p "$d/screen" | grep -q '^> In the beginning *$' || fail "Home/End typed into the context: $(sed -n 1p "$d/screen")"
$T send-keys -t h q

# --- a crash signal restores the terminal and still kills -------------------------
start e 100 30 "gpt --text 'In the'"
wait_for e "F1 help" || fail "explorer e did not start"
shell=$($T list-panes -t e -F '#{pane_pid}')
pid=$(pgrep -P "$shell" | head -n 1) # lmscope (possibly re-executed as /proc/self/exe)
[ -n "$pid" ] && kill -SEGV "$pid"
wait_for e "EXIT=139" || fail "no SIGSEGV exit status"
grep -q "Next token" "$d/screen" && fail "the screen was not restored after SIGSEGV"

[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
echo "explorer: all screen checks passed"
