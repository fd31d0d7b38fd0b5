#!/bin/sh
# The explorer in Chinese (LANGUAGE=zh_CN, the catalog of build/locale): at
# 80x24 and 160x48 the pane titles, the status line and the help are the
# translated ones, and the layout holds with characters two columns wide:
# no screen line is wider than the terminal (display width by Python's
# unicodedata.east_asian_width), each pane title starts its pane's row
# with nothing of another title run into it, and the status line keeps the
# model's name at its start and "F1 帮助" after its parts (a message, F2's,
# at its end, placed by display width); a lesson's step
# header, step count and end message are the translated ones, a Chinese
# caption wraps between characters to the box's width; the help
# wraps Chinese between characters, never before closing punctuation.
set -u
. "$(dirname "$0")/lib/tmux.sh"
root=$(pwd)
[ -f "$root/build/locale/zh_CN/LC_MESSAGES/lmscope.mo" ] ||
	{ echo "i18n.sh: build/locale/zh_CN/LC_MESSAGES/lmscope.mo missing (make all)"; exit 1; }
locale -a 2> /dev/null | grep -qix 'c\.utf-\?8' ||
	{ echo "SKIP: Chinese explorer: the C.UTF-8 locale is missing (locale -a)"; exit 77; }
# tmux hands the environment of its first client to the explorer; LC_ALL is
# C.UTF-8 (lib/tmux.sh), not C, so gettext honours LANGUAGE.
export LANGUAGE=zh_CN LMSCOPE_LOCALEDIR="$root/build/locale"

train gpt --arch gpt2 --layers 2 --heads 2 --embd 32 --context 32 --steps 20 --lr 0.02 \
	--warmup 1 --batch 4

for size in "80 24" "160 48"; do
	set -- $size
	cols=$1 rows=$2
	name=s$cols
	start $name $cols $rows "gpt --text 'In the beginning God created'"
	wait_all $name "F1 帮助" "下一个词元" || { fail "$cols x $rows: the explorer did not start in Chinese"; continue; }
	# every phase done: the saliency, the attention, the faithfulness, not busy
	wait_all $name "显著性：" "注意力  " "删除面积 " "F1 帮助" ||
		fail "$cols x $rows: the views did not all arrive"
	cp "$d/screen" "$d/screen-$cols"
	widths $cols || fail "$cols x $rows: a line overruns the terminal"
	lines=$(wc -l < "$d/screen")
	[ "$lines" -eq "$rows" ] || fail "$cols x $rows: the screen has $lines lines"
	# the titles, each at the start of its pane (column 1 after the blank)
	for t in "下一个词元  （T=" "显著性：" "注意力  " "logit 透镜"; do
		grep -q "^\(.*  \)\? $t" "$d/screen" || fail "$cols x $rows: title '$t' not at a pane's start"
	done
	# the status line: the model's name first, the help hint last, whole
	status=$(tail -n 1 "$d/screen")
	case $status in
	" gpt | "*"F1 帮助"*) ;;
	*) fail "$cols x $rows: status line '$status'" ;;
	esac
	echo "$status" | grep -q "上下文 [0-9]*/32" || [ "$cols" -lt 100 ] ||
		fail "$cols x $rows: status line without the context count: $status"
	# a message beside the status line's parts, measured in columns
	$T send-keys -t $name F2
	wait_for $name "显著性：gradient x input" > /dev/null || fail "$cols x $rows: no message for F2"
	# the message shows while the new method computes ("计算中…" where the
	# help hint goes): the status line is read once it is done
	i=0
	while grep -q "计算中" "$d/screen" && [ $i -lt 60 ]; do
		sleep 0.15
		screen $name
		i=$((i + 1))
	done
	status=$(tail -n 1 "$d/screen")
	case $status in
	" gpt | "*"F1 帮助"*"显著性：gradient x input") ;;
	*) fail "$cols x $rows: status line with a message: '$status'" ;;
	esac
	widths $cols || fail "$cols x $rows: the status line with a message overruns the terminal"
	# the help: its sections in Chinese, every line inside the terminal
	$T send-keys -t $name F1
	wait_all $name "lmscope 帮助" "任何地方" || fail "$cols x $rows: the help is not in Chinese"
	widths $cols || fail "$cols x $rows: a help line overruns the terminal"
	$T send-keys -t $name Escape
	# the attention pane's section: Chinese wraps between characters (not
	# only at the English words' spaces), and no line starts with a comma,
	# full stop, colon or closing bracket
	$T send-keys -t $name Tab Tab Tab '?'
	wait_for $name "每个位置（行，即查询）" > /dev/null || fail "$cols x $rows: no attention section in the help"
	if [ "$cols" = 80 ]; then
		grep -q "softmax 权重，每行之和为 100%。总览显示每一层 × 每个头" "$d/screen" ||
			fail "80 x 24: the help breaks a Chinese line early: $(grep -A1 softmax "$d/screen")"
	fi
	grep -E '(│|x) +[，。：；）、]' "$d/screen" && fail "$cols x $rows: a help line starts with punctuation"
	widths $cols || fail "$cols x $rows: a line of the attention help overruns the terminal"
	$T send-keys -t $name Escape
	$T send-keys -t $name C-c
	wait_for $name "EXIT=0" > /dev/null || fail "$cols x $rows: Ctrl-C did not quit"
	$T kill-session -t $name
done

# A lesson: the step header and the status line's step count in Chinese,
# the lesson's own words as written; the end of the lesson says so in Chinese.
long="这一步看模型如何给词表中的每个词分配概率：最可能的词排在最前面，条形的长度就是概率，温度越低分布越尖锐，温度越高分布越平坦，可以按 t 和 T 亲自试一试。"
cat > "$d/zh.lesson" <<LESSON
title 第一课
model gpt
speed 50

step 下一个词
caption 词表中的每个词都得到一个概率。
context In the beginning

step Second
caption $long
context In the beginning God
LESSON
start L 80 24 "lesson zh.lesson"
wait_all L " 第 1/2 步: 下一个词  -  第一课" "词表中的每个词都得到一个概率。" "第 1/2 步 | gpt" ||
	fail "lesson: no Chinese step header or status"
widths 80 || fail "lesson: a line overruns the terminal"
# Space while the context is still being typed only finishes the typing
wait_all L "> In the beginning" "F1 帮助" > /dev/null || fail "lesson: step 1 not typed out"
$T send-keys -t L Space
wait_for L " 第 2/2 步: Second" || fail "lesson: no second step"
wait_all L "> In the beginning God" "F1 帮助" > /dev/null || fail "lesson: step 2 not typed out"
# the long caption: wrapped between characters, lines nearly the box's
# width, nothing lost, nothing wider than the terminal
wait_for L "这一步看模型" > /dev/null || fail "lesson: no Chinese caption"
/usr/bin/python3 - "$d/screen" "$long" <<'PYEOF' || fail "lesson: the Chinese caption is not wrapped well"
import sys, unicodedata
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
want = sys.argv[2]
start = next(i for i, l in enumerate(lines) if l.startswith(" 这一步看模型"))
got, i = "", start
while len(got.replace(" ", "")) < len(want.replace(" ", "")) and i < len(lines):
    got += lines[i].strip() + " "
    i += 1
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
first = w(lines[start].rstrip())
ok = got.replace(" ", "") == want.replace(" ", "") and first >= 70
if not ok:
    print("caption lines:", [l.strip() for l in lines[start:i]], "first line", first, "columns")
sys.exit(0 if ok else 1)
PYEOF
$T send-keys -t L Space
wait_for L "课程结束（按 q 退出）" > /dev/null || fail "lesson: the end is not said in Chinese"
$T send-keys -t L q
wait_for L "EXIT=0" > /dev/null || fail "lesson: q did not quit"

echo "i18n: $fails problems"
[ $fails -eq 0 ]
