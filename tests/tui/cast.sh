#!/bin/sh
# Casts (asciinema v2 files of the screen), end to end in tmux: a shipped
# lesson played to its end with --cast gives a file that parses as
# asciinema v2 (header keys, monotone times, "o" events of valid UTF-8)
# and whose output, replayed into a fresh pane of the same size, ends on
# the screen the explorer showed; an unwritable --cast fails with one line
# and exit status 3 before the screen opens; --cast-speed cuts long pauses
# (an idle stretch is kept as it was without it); F10 starts and stops a
# cast into the first free lmscope-cast-N.cast (whole screens from its
# start: it replays to the screen it stopped on) and records a resize;
# SIGTERM still finishes the file, a crash leaves no file and no temporary.
set -u
. "$(dirname "$0")/lib/tmux.sh"

MODELS=$(pwd)/models
[ -f "$MODELS/kjv-transformer/config.json" ] || { fail "models/kjv-transformer is missing"; exit 1; }

# check_cast FILE W H: FILE is asciinema v2 for a W x H terminal; prints
# "EVENTS LAST_TIME LONGEST_GAP" and writes the concatenated output to
# FILE.out and the resizes, one a line, to FILE.r.
check_cast() {
	/usr/bin/python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = open(path, "rb").read()
text = raw.decode("utf-8")  # strict: invalid UTF-8 raises
lines = text.split("\n")
assert lines[-1] == "", "the file does not end with a newline"
head = json.loads(lines[0])
for k in ("version", "width", "height", "timestamp", "env", "title"):
    assert k in head, "header lacks %s: %s" % (k, lines[0])
assert head["version"] == 2, head
assert (head["width"], head["height"]) == (w, h), (head["width"], head["height"], w, h)
assert isinstance(head["timestamp"], int) and head["timestamp"] > 1500000000, head
assert set(head["env"]) == {"TERM", "SHELL"}, head["env"]
assert head["env"]["TERM"] == "xterm-256color", head["env"]
out, sizes, last, gap, n = [], [], 0.0, 0.0, 0
for l in lines[1:-1]:
    ev = json.loads(l)
    assert isinstance(ev, list) and len(ev) == 3, l
    t, code, data = ev
    assert isinstance(t, float) and t >= last, ("times go back", last, t)
    assert code in ("o", "r") and isinstance(data, str), l
    gap, last, n = max(gap, t - last), t, n + 1
    if code == "o":
        out.append(data)
    else:
        sizes.append(data)
assert out, "no output events"
open(path + ".out", "w", encoding="utf-8").write("".join(out))
open(path + ".r", "w").write("".join(s + "\n" for s in sizes))
print(n, "%.6f" % last, "%.6f" % gap)
EOF
}

# steady NAME TEXT: TEXT shows, nothing computes, and the whole screen
# stays the same over three looks 0.2 s apart; it is left in $d/steady.
steady() {
	wait_for "$1" "$2" 150 || return 1
	i=0
	same=0
	: > "$d/steady"
	while [ $i -lt 60 ]; do
		screen "$1"
		if ! grep -q "computing" "$d/screen" && cmp -s "$d/screen" "$d/steady"; then
			same=$((same + 1))
			[ $same -ge 2 ] && return 0
		else
			same=0
			cp "$d/screen" "$d/steady"
		fi
		sleep 0.2
		i=$((i + 1))
	done
	echo "--- screen of $1 never became steady"
	cat "$d/screen"
	return 1
}
trim() { sed 's/[[:space:]]*$//' "$1"; }
# replay NAME W H FILE: FILE's output into a fresh W x H pane; its screen,
# once cat has written it all (a tmux wait-for channel says so) and it
# stays the same, into $d/replayed.
replay() {
	$T new-session -d -s "$1" -x "$2" -y "$3" "cat '$4'; tmux wait-for -S $1-done; sleep 100"
	timeout 20 $T wait-for "$1-done" || return 1
	# and tmux has drawn it: two looks alike
	$T capture-pane -p -t "$1" > "$d/replayed"
	i=0
	while [ $i -lt 20 ]; do
		sleep 0.2
		$T capture-pane -p -t "$1" > "$d/replayed2"
		cmp -s "$d/replayed" "$d/replayed2" && return 0
		mv "$d/replayed2" "$d/replayed"
		i=$((i + 1))
	done
	return 1
}

# --- a shipped lesson, cast to its end and replayed --------------------------------
W=150
H=45
steps=$(grep -c '^step' models/lessons/predict.lesson)
start L $W $H "lesson '$(pwd)/models/lessons/predict.lesson' --speed 400 --cast lesson.cast"
k=1
while [ $k -le "$steps" ]; do
	steady L "Step $k/$steps" || { fail "step $k of predict.lesson not reached"; break; }
	[ $k -lt "$steps" ] && $T send-keys -t L Space
	k=$((k + 1))
done
cp "$d/steady" "$d/live"
[ -e "$d/lesson.cast" ] && fail "lesson.cast exists under its name while the cast is being made"
$T send-keys -t L C-c
wait_for L "EXIT=0" || fail "the lesson with --cast did not quit with status 0"
if [ -s "$d/lesson.cast" ]; then
	if stats=$(check_cast "$d/lesson.cast" $W $H); then
		set -- $stats
		[ "$1" -ge 20 ] || fail "the lesson's cast has only $1 events"
		grep -q '"title": "What a language model predicts"' "$d/lesson.cast" ||
			fail "the cast's title is not the lesson's"
		replay replay $W $H "$d/lesson.cast.out" || fail "the lesson's cast did not replay"
		trim "$d/live" > "$d/a"
		trim "$d/replayed" > "$d/b"
		cmp -s "$d/a" "$d/b" ||
			{ fail "the replayed cast ends on another screen than the explorer's"; diff "$d/a" "$d/b" | head -20; }
		grep -q "Step $steps/$steps" "$d/b" || fail "the replay does not show the last step"
	else
		fail "lesson.cast is not asciinema v2"
	fi
else
	fail "no lesson.cast written"
fi
ls -a "$d" | grep -q '\.tmp' && fail "a temporary file is left: $(ls -a "$d" | grep '\.tmp')"

# --- an unwritable --cast: one line, exit status 3, before the screen -----------------
# (no terminal here: had it got as far as the screen, it would fail otherwise)
for bad in "$d/no-such-dir/x.cast" "$d/corpus.txt/x.cast"; do
	"$LMSCOPE" lesson models/lessons/predict.lesson --cast "$bad" < /dev/null > "$d/out" 2> "$d/err"
	rc=$?
	[ $rc -eq 3 ] || fail "--cast $bad exits with $rc, not 3"
	[ "$(wc -l < "$d/err")" -eq 1 ] && grep -q "^lmscope: $bad: " "$d/err" ||
		{ fail "--cast $bad does not fail with one line"; cat "$d/err"; }
	[ -s "$d/out" ] && fail "--cast $bad wrote to stdout"
	"$LMSCOPE" "$MODELS/kjv-transformer" --cast "$bad" < /dev/null > /dev/null 2> "$d/err"
	rc=$?
	[ $rc -eq 3 ] && [ "$(wc -l < "$d/err")" -eq 1 ] || fail "the explorer's --cast $bad: $rc, $(cat "$d/err")"
done

# --- --cast-speed: an idle stretch of 2 s is kept without it, cut with it --------------
for run in plain fast; do
	opt=""
	[ $run = fast ] && opt="--cast-speed 0.05"
	t0=$(date +%s.%N)
	start "$run" 100 30 "'$MODELS/kjv-transformer' --text 'In the beginning' --cast $run.cast $opt"
	steady "$run" "F1 help" || fail "$run: the explorer did not start"
	sleep 2
	$T send-keys -t "$run" " God"
	steady "$run" "> In the beginning God" || fail "$run: typing did not show"
	$T send-keys -t "$run" C-c
	wait_for "$run" "EXIT=0" || fail "$run: did not quit"
	t1=$(date +%s.%N)
	stats=$(check_cast "$d/$run.cast" 100 30) || { fail "$run.cast is not asciinema v2"; continue; }
	set -- $stats
	/usr/bin/python3 -c "
import sys
run, last, gap = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
wall = float(sys.argv[5]) - float(sys.argv[4])
if run == 'plain':
    assert gap >= 1.9, 'the 2 s pause became %.3f s without --cast-speed' % gap
else:
    assert gap <= 0.05 + 1e-6, 'a pause of %.3f s with --cast-speed 0.05' % gap
    assert last <= wall - 1.9, 'the cast lasts %.3f s of a %.3f s run' % (last, wall)
" "$run" "$2" "$3" "$t0" "$t1" || fail "$run: the cast's times are wrong"
done

# --- F10: the first free lmscope-cast-N.cast, never over one; a resize recorded ---------
echo keep > "$d/lmscope-cast-1.cast"
start K 100 30 "'$MODELS/kjv-transformer' --text 'In the'"
steady K "F1 help" || fail "K: the explorer did not start"
$T send-keys -t K F10
wait_for K "casting into lmscope-cast-2.cast" || fail "F10 did not start a cast into lmscope-cast-2.cast"
$T resize-window -t K -x 110 -y 32
steady K "F1 help"
cp "$d/steady" "$d/k_live"
$T send-keys -t K F10
wait_for K "wrote lmscope-cast-2.cast" || fail "F10 did not stop the cast"
$T send-keys -t K C-c
wait_for K "EXIT=0" || fail "K: did not quit"
[ "$(cat "$d/lmscope-cast-1.cast")" = keep ] || fail "F10 wrote over lmscope-cast-1.cast"
if check_cast "$d/lmscope-cast-2.cast" 100 30 > /dev/null; then
	grep -qx "110x32" "$d/lmscope-cast-2.cast.r" ||
		fail "the resize is not recorded: $(cat "$d/lmscope-cast-2.cast.r")"
	# started mid-session, the cast still holds whole screens
	replay kreplay 110 32 "$d/lmscope-cast-2.cast.out" || fail "the F10 cast did not replay"
	trim "$d/k_live" > "$d/a"
	trim "$d/replayed" > "$d/b"
	cmp -s "$d/a" "$d/b" ||
		{ fail "the F10 cast replays to another screen"; diff "$d/a" "$d/b" | head -20; }
else
	fail "lmscope-cast-2.cast is not asciinema v2"
fi

# --- interrupted: SIGTERM finishes the file; a crash leaves none ------------------------
# the explorer is the child of the pane's shell: signalled by its own pid
for sig in TERM SEGV; do
	start "I$sig" 100 30 "'$MODELS/kjv-transformer' --text 'In the' --cast $sig.cast"
	steady "I$sig" "F1 help" || fail "I$sig: the explorer did not start"
	pid=$(pgrep -P "$($T list-panes -t "I$sig" -F '#{pane_pid}')" -x lmscope)
	[ -n "$pid" ] || { fail "I$sig: no explorer process found"; continue; }
	kill -s $sig "$pid"
	wait_for "I$sig" "EXIT=" || fail "I$sig: the explorer did not end"
	if [ $sig = TERM ]; then
		check_cast "$d/TERM.cast" 100 30 > /dev/null || fail "after SIGTERM, TERM.cast is not asciinema v2"
	else
		[ -e "$d/SEGV.cast" ] && fail "a crash left SEGV.cast"
		ls -a "$d" | grep -q 'SEGV.cast.tmp' && fail "a crash left the temporary file"
	fi
done

# --- a full disk: one line, exit status 3, no file --------------------------------------
# a 16 KiB tmpfs in a mount namespace of its own (root only), where a tmux
# server of its own runs the lesson
if unshare -m true 2> /dev/null; then
	mkdir "$d/small"
	outer=$T
	T="tmux -u -L lmscope-castfull-$$ -f /dev/null"
	unshare -m --propagation private sh -c "mount -t tmpfs -o size=16k tmpfs '$d/small' &&
		$T new-session -d -s F -x 170 -y 45 -c '$d/small' \"TERM=xterm-256color '$LMSCOPE' lesson \
		'$(pwd)/models/lessons/predict.lesson' --speed 1000 --cast full.cast; echo EXIT=\\\$?; \
		ls -1a; echo LISTED; sleep 60\"" || fail "cannot start the explorer on a small file system"
	k=1
	while [ $k -le "$steps" ]; do
		wait_for F "Step $k/$steps" 150 > /dev/null || break
		$T send-keys -t F Space
		k=$((k + 1))
	done
	$T send-keys -t F C-c
	if wait_for F "LISTED" > /dev/null; then
		grep -q "^EXIT=3$" "$d/screen" || fail "a full disk: $(grep EXIT= "$d/screen"), not 3"
		[ "$(grep -c "^lmscope: " "$d/screen")" -eq 1 ] &&
			grep -q "^lmscope: full.cast: No space left on device$" "$d/screen" ||
			{ fail "a full disk does not end with one line"; cat "$d/screen"; }
		# what ls lists after EXIT=: only . and ..
		[ "$(sed -n '/^EXIT=/,/^LISTED/p' "$d/screen" | grep -c .)" -eq 4 ] ||
			{ fail "a full disk left files"; sed -n '/^EXIT=/,/^LISTED/p' "$d/screen"; }
	else
		fail "a full disk: the explorer did not end"
	fi
	$T kill-server 2> /dev/null
	T=$outer
else
	echo "SKIP: a full disk during a cast: needs root (a mount namespace)"
fi

[ $fails -eq 0 ] && echo "cast.sh: all passed"
[ $fails -eq 0 ]
