# Sourced by the explorer's screen tests (tests/tui/*.sh) after `set -u`:
# a temporary directory $d (removed on exit), a private tmux server $T, a
# failure count, the training corpus, and the helpers that start the
# explorer in tmux and read its screen.
LMSCOPE=${LMSCOPE:-./lmscope}
case $LMSCOPE in /*) ;; *) LMSCOPE=$(pwd)/$LMSCOPE ;; esac
command -v tmux >/dev/null || { echo "tmux is missing (make deps installs it)"; exit 1; }
export LC_ALL=C.UTF-8
d=$(mktemp -d)
T="tmux -u -L lmscope-$(basename "$0" .sh)-$$ -f /dev/null"
cleanup() { $T kill-server 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for i in $(seq 1 40); do
	echo "In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep."
done > "$d/corpus.txt"

# train NAME ARGS...: `lmscope train` on the corpus into $d/NAME, or exit.
train() {
	name=$1
	shift
	"$LMSCOPE" train "$d/corpus.txt" -o "$d/$name" "$@" > "$d/train.log" 2>&1 ||
		{ cat "$d/train.log"; echo "cannot train the test model $name"; exit 1; }
}

# settle NAME TEXT [TEXT2]: TEXT (and TEXT2) show, no engine is computing
# and the screen stays the same over three looks 0.15 s apart; the screen
# without its status lines ends in $d/settled.
settle() {
	wait_for "$1" "$2" || return 1
	same=0
	i=0
	while [ $i -lt 60 ]; do
		screen "$1"
		if grep -qF -- "$2" "$d/screen" && grep -qF -- "${3:-$2}" "$d/screen" &&
			! grep -q "computing" "$d/screen"; then
			grep -v "params | context" "$d/screen" > "$d/settled"
			if [ $same -gt 0 ] && cmp -s "$d/settled" "$d/prev"; then
				same=$((same + 1))
				[ $same -ge 3 ] && return 0
			else
				same=1
				cp "$d/settled" "$d/prev"
			fi
		else
			same=0
		fi
		sleep 0.15
		i=$((i + 1))
	done
	echo "--- screen of $1 never settled on: $2"
	cat "$d/screen"
	return 1
}

# start NAME COLS ROWS 'ARGS': the explorer in its own session (in the
# temporary directory); the shell prints its exit status when it ends.
# When a test has just killed the server's last session, the server is on
# its way out and may drop the new client ("server exited unexpectedly",
# seen once under load): then the session is asked for again, of a new
# server.
start() {
	for try in 1 2 3; do
		$T new-session -d -s "$1" -x "$2" -y "$3" -c "$d" \
			"TERM=xterm-256color \"$LMSCOPE\" $4; echo EXIT=\$?; sleep 60" && return 0
		sleep 0.3
	done
	return 1
}
screen() { $T capture-pane -p -t "$1" > "$d/screen"; }
# wait_for NAME TEXT [TRIES]: poll the screen (0.1 s apart) until TEXT shows.
wait_for() {
	i=0
	while [ $i -lt "${3:-100}" ]; do
		screen "$1"
		grep -qF -- "$2" "$d/screen" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "--- screen of $1 while waiting for: $2"
	cat "$d/screen"
	return 1
}
# wait_all NAME TEXT...: poll until every TEXT is on one screen.
wait_all() {
	name=$1
	shift
	i=0
	while [ $i -lt 100 ]; do
		screen "$name"
		ok=1
		for t in "$@"; do grep -qF -- "$t" "$d/screen" || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "--- screen of $name while waiting for: $*"
	cat "$d/screen"
	return 1
}
# llama2c_model FILE: a llama2.c checkpoint of random weights for Llama 2's
# 32000-token vocabulary (one layer, width 8, context 64).
llama2c_model() {
	/usr/bin/python3 - "$1" <<'PYEOF'
import random, struct, sys
C, H, L, NH, KV, V, T = 8, 12, 1, 2, 1, 32000, 64
n = V * C + L * (2 * C + 2 * C * C + 2 * KV * (C // NH) * C + 3 * H * C) + C + T * (C // NH)
rng = random.Random(5)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("7i", C, H, L, NH, KV, V, T))
    f.write(struct.pack("%df" % n, *(rng.gauss(0, 0.5) for _ in range(n))))
PYEOF
}
# widths COLS: every line of the screen fits COLS display columns (a
# character's width by Python's unicodedata: two for East Asian wide and
# full-width, none for combining marks), or print the lines that do not.
widths() {
	/usr/bin/python3 - "$1" "$d/screen" <<'PYEOF'
import sys, unicodedata
cols = int(sys.argv[1])
def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in s)
bad = 0
for i, line in enumerate(open(sys.argv[2], encoding="utf-8").read().split("\n")):
    w = width(line.rstrip("\n"))
    if w > cols:
        print("line %d is %d columns wide: %s" % (i + 1, w, line))
        bad = 1
sys.exit(bad)
PYEOF
}
# The candidates as drawn: the token after each rank in the left column.
candidates() { sed -n 's/^ *[0-9][0-9]*.\([^ ]*\) .*[0-9]%.*/\1/p' "$d/screen"; }
# explain_top MODEL TEXT K: the top K tokens by `lmscope explain --json`.
explain_top() {
	"$LMSCOPE" explain "$1" --text "$2" --top "$3" --json |
		/usr/bin/python3 -c 'import json,sys; [print(c["token"]) for c in json.load(sys.stdin)["top"]]'
}
