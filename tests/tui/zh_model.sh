#!/bin/sh
# The Chinese model (models/zh-transformer, characters) in the explorer in
# Chinese (LANGUAGE=zh_CN), at 80x24 and 160x48: Chinese typed into the
# context shows as typed, one token per character in the token row; the
# candidates pane lists, in order, the characters `lmscope explain` ranks
# first (another code path to the same model), so Chinese candidates arrive
# whole; every candidate's percentage and every saliency bar starts in one
# column whatever the characters' width (also with the newline, ↵, one
# column wide, among the candidates at a poem's end); no line is wider than
# the terminal and none holds U+FFFD; a context wider than the screen is cut
# at the left and keeps its end; Backspace takes one whole character.
set -u
. "$(dirname "$0")/lib/tmux.sh"
root=$(pwd)
model=$root/models/zh-transformer
[ -f "$root/build/locale/zh_CN/LC_MESSAGES/lmscope.mo" ] ||
	{ echo "zh_model.sh: build/locale/zh_CN/LC_MESSAGES/lmscope.mo missing (make all)"; exit 1; }
[ -f "$model/model.safetensors" ] || { echo "zh_model.sh: $model missing"; exit 1; }
locale -a 2> /dev/null | grep -qix 'c\.utf-\?8' ||
	{ echo "SKIP: Chinese model in the explorer: the C.UTF-8 locale is missing (locale -a)"; exit 77; }
export LANGUAGE=zh_CN LMSCOPE_LOCALEDIR="$root/build/locale"

short='床前明月光，疑是地上'
rest='霜。举头望明月，低头思故乡。春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。'
spaced() { printf '%s' "$1" | sed 's/./& /g; s/ $//'; }

# explain's top 30 for the short text, as the pane draws them (a newline is
# ↵); the model's own choice, but at least 10 of them Chinese characters
"$LMSCOPE" explain "$model" --text "$short" --top 30 --json > "$d/top.json" || fail "explain: exit $?"
/usr/bin/python3 - "$d/top.json" > "$d/want" <<'PYEOF' || fail "explain's top 30 after '$short' has fewer than 10 Chinese characters"
import json, sys
top = [t["token"].replace("\n", "↵") for t in json.load(open(sys.argv[1]))["top"]]
print("\n".join(top))
sys.exit(sum(len(t) == 1 and "\u4e00" <= t <= "\u9fff" for t in top) < 10)
PYEOF

# columns TEXT: where each candidate's percentage and each saliency bar (of
# a row starting with a character of TEXT) start, in display columns; one
# line per pane, "one" when every row agrees
columns() {
	/usr/bin/python3 - "$d/screen" "$1" <<'PYEOF'
import re, sys, unicodedata
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
pct = set()
for l in lines:
    m = re.match(r"^ *\d+. ?\S+ +\S* +[\d.]+%", l)
    if m:
        pct.add(w(m.group(0)))
bars = set()
for l in lines:
    if l[:1] and l[0] in sys.argv[2]:
        m = re.match(r"^\S +[█▏▎▍▌▋▊▉]", l)
        if m:
            bars.add(w(m.group(0)))
print("candidates", "one" if len(pct) == 1 else sorted(pct))
print("saliency", "one" if len(bars) == 1 else sorted(bars))
PYEOF
}

for size in "80 24" "160 48"; do
	set -- $size
	cols=$1 rows=$2
	name=z$cols
	start $name $cols $rows "'$model'"
	wait_for $name "F1 帮助" > /dev/null || { fail "$cols x $rows: the explorer did not start"; continue; }
	$T send-keys -t $name "$short"
	wait_all $name "> $short" "$(spaced "$short")" "显著性：" "删除面积 " "上下文 10/64" ||
		{ fail "$cols x $rows: '$short' and its views did not show"; continue; }
	sleep 0.3
	screen $name
	cp "$d/screen" "$d/screen-$cols"
	widths $cols || fail "$cols x $rows: a line overruns the terminal"
	[ "$(wc -l < "$d/screen")" -eq "$rows" ] || fail "$cols x $rows: not $rows screen lines"
	grep -q '�' "$d/screen" && fail "$cols x $rows: U+FFFD on the screen"
	candidates > "$d/got"
	n=$(wc -l < "$d/got")
	[ "$n" -ge 9 ] || fail "$cols x $rows: $n candidates drawn"
	head -n "$n" "$d/want" | cmp -s - "$d/got" ||
		fail "$cols x $rows: candidates $(tr '\n' ' ' < "$d/got") not explain's $(head -n "$n" "$d/want" | tr '\n' ' ')"
	columns "$short" > "$d/cols"
	grep -qx 'candidates one' "$d/cols" || fail "$cols x $rows: percentages out of line: $(cat "$d/cols")"
	grep -qx 'saliency one' "$d/cols" || fail "$cols x $rows: saliency bars out of line: $(cat "$d/cols")"

	# longer than 80 columns (48 characters, 96 columns): cut at the left
	$T send-keys -t $name "$rest"
	wait_all $name "花 落 知 多 少 。" "上下文 48/64" "F1 帮助" > /dev/null ||
		fail "$cols x $rows: the long context did not arrive"
	widths $cols || fail "$cols x $rows: a line of the long context overruns the terminal"
	# the end of a poem: a newline (↵, one column) among the candidates
	sleep 0.3
	screen $name
	grep -q '^ *[0-9]*.↵ ' "$d/screen" || fail "$cols x $rows: no ↵ candidate after the poem"
	columns "$rest" > "$d/cols"
	grep -qx 'candidates one' "$d/cols" ||
		fail "$cols x $rows: percentages out of line after the poem: $(cat "$d/cols")"
	first=$(head -n 1 "$d/screen" | sed 's/ *$//')
	if [ "$cols" = 80 ]; then
		case $first in
		">…"*"夜来风雨声，花落知多少。") ;;
		*) fail "80 x 24: the long context line is '$first'" ;;
		esac
	else
		[ "$first" = "> $short$rest" ] || fail "160 x 48: the context line is '$first'"
	fi
	$T send-keys -t $name BSpace
	wait_all $name "花落知多少" "上下文 47/64" > /dev/null || fail "$cols x $rows: Backspace"
	case $(head -n 1 "$d/screen" | sed 's/ *$//') in
	*"花落知多少") ;;
	*) fail "$cols x $rows: Backspace left '$(head -n 1 "$d/screen")'" ;;
	esac
	grep -q '�' "$d/screen" && fail "$cols x $rows: U+FFFD after Backspace"
	$T send-keys -t $name C-c
	wait_for $name "EXIT=0" > /dev/null || fail "$cols x $rows: Ctrl-C did not quit"
	$T kill-session -t $name
done

echo "zh_model: $fails problems"
[ $fails -eq 0 ]
