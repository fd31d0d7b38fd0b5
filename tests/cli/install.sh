#!/bin/sh
# make install / make uninstall into a temporary PREFIX, from a temporary
# models directory (MODELS_DIR) of two tiny models and three lessons (one with
# a model beside it, one a translation named NAME.zh.lesson): the binary, the
# man page, each model's files and its training snapshots (not its
# checkpoint/ or logs/) and the lessons are installed, and the installed
# snapshots open; the
# installed lmscope, run from elsewhere, finds the installed models by bare
# name (info, and the explorer, which gets as far as wanting a terminal),
# and the installed lessons by name (lesson NAME), each finding its models;
# $LMSCOPE_MODELS comes first; uninstall removes exactly what install put
# there and leaves a model added by hand; the Chinese catalog is installed
# and the installed lmscope finds it beside itself (LANGUAGE=zh_CN).
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
root=$(pwd)
p=$tmp/prefix
mkdir -p "$tmp/models" "$tmp/other" "$tmp/elsewhere"
/usr/bin/python3 tests/cli/tinymodel.py gpt2 "$tmp/models/tiny-gpt2" > /dev/null &&
	/usr/bin/python3 tests/cli/tinymodel.py lstm "$tmp/models/tiny-lstm" > /dev/null &&
	/usr/bin/python3 tests/cli/tinymodel.py lstm "$tmp/other/tiny-gpt2" > /dev/null ||
	{ echo "install.sh: tinymodel.py failed"; exit 1; }
mkdir -p "$tmp/models/tiny-gpt2/checkpoint" "$tmp/models/notamodel"
# a lesson naming an installed model, and one naming the model beside it
# (as models/lessons/tokenization.lesson names lessons/kjv-bpe)
mkdir -p "$tmp/models/lessons"
/usr/bin/python3 tests/cli/tinymodel.py lstm "$tmp/models/lessons/tiny-side" > /dev/null ||
	{ echo "install.sh: tinymodel.py failed"; exit 1; }
printf 'title Hello\nmodel tiny-gpt2\n\nstep One\ncaption A caption.\ncontext a b\n' > "$tmp/models/lessons/hello.lesson"
printf 'title Side\nmodel lessons/tiny-side\n\nstep One\ncaption A caption.\ncontext a b\n' > "$tmp/models/lessons/side.lesson"
printf 'title 你好\nmodel tiny-gpt2\n\nstep 一\ncaption 一行说明。\ncontext a b\n' > "$tmp/models/lessons/hello.zh.lesson"
echo "lessons, not installed" > "$tmp/models/lessons/README.md"
echo x > "$tmp/models/tiny-gpt2/checkpoint/state.json"
# training snapshots (train --snapshot-every): the index and a model directory
mkdir -p "$tmp/models/tiny-gpt2/snapshots/step-000010" "$tmp/models/tiny-gpt2/logs"
cp "$tmp/models/tiny-gpt2/config.json" "$tmp/models/tiny-gpt2/model.safetensors" \
	"$tmp/models/tiny-gpt2/snapshots/step-000010/"
printf '[{"step": 10, "tokens": 640, "train_loss": 2.5, "valid_loss": null, "path": "step-000010"}]\n' \
	> "$tmp/models/tiny-gpt2/snapshots/index.json"
echo x > "$tmp/models/tiny-gpt2/logs/train.csv"
echo x > "$tmp/models/notamodel/readme.txt"

# -o all: install what is built (make test has just built it).
make --no-print-directory -o all install PREFIX="$p" MODELS_DIR="$tmp/models" > "$tmp/log" 2>&1 ||
	{ fail "make install"; cat "$tmp/log"; }
(cd "$p" && find . -type f | sort) > "$tmp/installed"
cat > "$tmp/want" <<LIST
./bin/lmscope
./share/lmscope/installed-models.txt
./share/lmscope/models/lessons/hello.lesson
./share/lmscope/models/lessons/hello.zh.lesson
./share/lmscope/models/lessons/side.lesson
./share/lmscope/models/lessons/tiny-side/config.json
./share/lmscope/models/lessons/tiny-side/model.safetensors
./share/lmscope/models/tiny-gpt2/config.json
./share/lmscope/models/tiny-gpt2/model.safetensors
./share/lmscope/models/tiny-gpt2/snapshots/index.json
./share/lmscope/models/tiny-gpt2/snapshots/step-000010/config.json
./share/lmscope/models/tiny-gpt2/snapshots/step-000010/model.safetensors
./share/lmscope/models/tiny-lstm/config.json
./share/lmscope/models/tiny-lstm/model.safetensors
./share/locale/zh_CN/LC_MESSAGES/lmscope.mo
./share/man/man1/lmscope.1
LIST
cmp -s "$tmp/installed" "$tmp/want" || { fail "installed files differ:"; diff "$tmp/want" "$tmp/installed"; }
[ -x "$p/bin/lmscope" ] || fail "the installed lmscope is not executable"
cmp -s man/lmscope.1 "$p/share/man/man1/lmscope.1" || fail "the installed man page differs"
cmp -s build/locale/zh_CN/LC_MESSAGES/lmscope.mo "$p/share/locale/zh_CN/LC_MESSAGES/lmscope.mo" ||
	fail "the installed Chinese catalog differs"

cd "$tmp/elsewhere" || exit 1
# the installed catalog, found beside the binary (PREFIX is not the compiled one)
if locale -a 2> /dev/null | grep -qix 'c\.utf-\?8'; then
	out=$(env -u LC_ALL -u LMSCOPE_LOCALEDIR LANG=C.UTF-8 LANGUAGE=zh_CN "$p/bin/lmscope" --help 2>&1)
	echo "$out" | grep -q -- '--version *显示版本号并退出' || fail "the installed lmscope --help is not in Chinese: $out"
else
	echo "install.sh: the installed catalog not tried: the C.UTF-8 locale is missing"
fi
out=$(env -u LMSCOPE_MODELS "$p/bin/lmscope" info tiny-gpt2 2>&1) || fail "installed info tiny-gpt2: $out"
echo "$out" | grep -q "^architecture: *gpt2" || fail "info tiny-gpt2 is not the installed GPT-2: $out"
echo "$out" | grep -q "$p/bin/../share/lmscope/models/tiny-gpt2\|$p/share/lmscope/models/tiny-gpt2" ||
	fail "info tiny-gpt2 does not name the installed directory: $out"
out=$("$p/bin/lmscope" info "$p/share/lmscope/models/tiny-gpt2/snapshots/step-000010" 2>&1) ||
	fail "the installed snapshot does not open: $out"
err=$(env -u LMSCOPE_MODELS "$p/bin/lmscope" tiny-lstm < /dev/null 2>&1)
[ "$err" = "lmscope: the explorer needs a terminal (use lmscope explain for scripts)" ] ||
	fail "the installed explorer did not open tiny-lstm: $err"
err=$(env -u LMSCOPE_MODELS "$p/bin/lmscope" info no-such-model 2>&1)
[ $? -eq 3 ] && [ "$err" = "lmscope: no-such-model: No such file or directory" ] ||
	fail "an unknown bare name: $err"
# lessons by name: the lesson found, then its model (the explorer then wants a terminal)
for lesson in hello side hello.zh; do
	err=$(env -u LMSCOPE_MODELS "$p/bin/lmscope" lesson $lesson < /dev/null 2>&1)
	[ "$err" = "lmscope: the explorer needs a terminal (use lmscope explain for scripts)" ] ||
		fail "the installed lesson $lesson did not open: $err"
done
err=$(env -u LMSCOPE_MODELS "$p/bin/lmscope" lesson no-such-lesson < /dev/null 2>&1)
[ $? -eq 3 ] && [ "$err" = "lmscope: no-such-lesson: No such file or directory" ] ||
	fail "an unknown lesson name: $err"
out=$(LMSCOPE_MODELS="$tmp/other" "$p/bin/lmscope" info tiny-gpt2 2>&1)
echo "$out" | grep -q "^architecture: *lstm" || fail "LMSCOPE_MODELS does not come first: $out"
cd "$root" || exit 1

# A model added by hand survives uninstall; nothing else of install does.
mkdir -p "$p/share/lmscope/models/mine"
echo '{}' > "$p/share/lmscope/models/mine/config.json"
make --no-print-directory uninstall PREFIX="$p" > "$tmp/log" 2>&1 || { fail "make uninstall"; cat "$tmp/log"; }
left=$(cd "$p" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./share/lmscope/models/mine/config.json " ] || fail "after uninstall: $left"
[ -d "$p/share/lmscope/models/tiny-gpt2" ] && fail "uninstall left models/tiny-gpt2/"
rm -r "$p/share/lmscope/models/mine"
make --no-print-directory uninstall PREFIX="$p" > "$tmp/log" 2>&1 || { fail "a second uninstall"; cat "$tmp/log"; }
[ -d "$p/share/lmscope" ] && fail "uninstall left an empty share/lmscope/"

echo "install.sh: $failed problems"
[ $failed -eq 0 ]
