#!/bin/sh
# The translations are complete and reach the user: the committed template
# po/lmscope.pot holds exactly the strings marked in the sources (make pot
# into a temporary file; only the creation date may differ); every catalog
# po/LANG.po merged with it has no untranslated and no fuzzy message, and
# compiles with its format strings checked; and `lmscope --help` under
# LANGUAGE=zh_CN prints the Chinese of a known option line and of the
# usage, an option error is Chinese too, while the C locale keeps English.
# The engine's messages are in the catalogs too: every source file that
# marks strings (_, N_, lms_fail, lms_tr) is in po/POTFILES, every
# lms_fail format is a literal xgettext can see, a translation keeps a
# message's leading "SUBJECT: " (front_fail and front_usage read it), and
# an engine error (not a model directory, a bad GGUF file, an --ablate the
# engine rejects) and a lesson file's are one Chinese line "lmscope: ..."
# under LANGUAGE=zh_CN and the English one otherwise; `lesson --check` prints the same lines in
# both (they are data).
#
# gettext ignores LANGUAGE in the C locale, and zh_CN.UTF-8 is often not
# generated: the test runs LANG=C.UTF-8 (built into glibc >= 2.35) with
# LANGUAGE=zh_CN, which selects the catalog without the Chinese locale.
LMSCOPE=${LMSCOPE:-./lmscope}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

for c in xgettext msgmerge msgfmt; do
	command -v $c > /dev/null || { echo "i18n.sh: $c is missing (make deps installs gettext)"; exit 1; }
done

# The template is up to date with the sources.
make --no-print-directory -s pot POT="$tmp/lmscope.pot" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "make pot"; }
strip() { grep -v '^"POT-Creation-Date: ' "$1"; }
strip po/lmscope.pot > "$tmp/committed"
strip "$tmp/lmscope.pot" > "$tmp/fresh"
cmp -s "$tmp/committed" "$tmp/fresh" ||
	{ fail "po/lmscope.pot is not up to date with the sources (make pot):"; diff "$tmp/committed" "$tmp/fresh" | head -20; }
n=$(grep -c '^msgid ' "$tmp/lmscope.pot")
[ "$n" -gt 100 ] || fail "only $n messages marked in the sources"

# Every source file with marked strings is listed: xgettext reads only those.
for f in $(grep -rlE '(^|[^A-Za-z0-9_])(_|N_|lms_fail|lms_tr|lms_log)\(' src --include='*.c'); do
	grep -qx "$f" po/POTFILES || fail "$f marks strings but is not in po/POTFILES"
done
# Every lms_fail format is a string literal (one built at run time, or
# passed in a variable, is never collected): the second argument of each
# call, across lines, starts with a quote.
/usr/bin/python3 - > "$tmp/nonliteral" <<'PYEOF'
import glob, re
for f in sorted(glob.glob("src/**/*.c", recursive=True)):
    s = open(f, encoding="utf-8").read()
    for m in re.finditer(r"\blms_fail\(", s):
        i, depth = m.end(), 0
        while i < len(s) and not (depth == 0 and s[i] in ",)"):
            depth += s[i] == "("
            depth -= s[i] == ")"
            i += 1
        rest = s[i + 1:].lstrip()
        if s[i] == "," and not rest.startswith('"') and not rest.startswith("const char *fmt"):
            print("%s:%d: %s" % (f, s.count("\n", 0, m.start()) + 1, rest[:60].split("\n")[0]))
PYEOF
[ -s "$tmp/nonliteral" ] && { fail "lms_fail formats xgettext cannot see:"; cat "$tmp/nonliteral"; }
n=$(grep -c '^#: src/engine/' "$tmp/lmscope.pot")
[ "$n" -gt 150 ] || fail "only $n messages of the engine in the template"

# Every catalog covers the fresh template: nothing untranslated or fuzzy.
for po in po/*.po; do
	msgmerge -q "$po" "$tmp/lmscope.pot" -o "$tmp/merged.po" 2> "$tmp/log" || { cat "$tmp/log"; fail "msgmerge $po"; continue; }
	msgfmt --check --statistics -o /dev/null "$tmp/merged.po" 2> "$tmp/stats" || { cat "$tmp/stats"; fail "msgfmt --check $po"; }
	stats=$(tail -1 "$tmp/stats")
	echo "$po: $stats"
	case $stats in
	*untranslated* | *fuzzy*) fail "$po: $stats" ;;
	*" translated message"*) ;;
	*) fail "$po: msgfmt says '$stats'" ;;
	esac
	grep -q '^#, fuzzy' "$po" && fail "$po has fuzzy entries"
	# "FILE: what" keeps "FILE: " (ASCII), as "explain: ..." keeps "explain: "
	# and "--ablate: ..." its option: front_fail and front_usage read it. So
	# does an engine or command-line message's "tokenizer: "; the explorer's
	# headings ("saliency: ") and the usage line ("usage: ") translate whole.
	msgcat --no-wrap "$tmp/merged.po" | /usr/bin/python3 -c '
import re, sys
msgid, where = None, ""
for line in sys.stdin:
    if line.startswith("#: "):
        where += line
        continue
    m = re.match(r"^msgid \"(.*)\"$", line)
    if m:
        msgid = m.group(1)
        continue
    m = re.match(r"^msgstr \"(.*)\"$", line)
    if m and msgid:
        p = re.match(r"^[^ :]+: ", msgid)
        subject = p and p.group(0) != "usage: " and (
            p.group(0)[0] in "%-" or re.search(r"src/(engine|cli)/", where))
        if subject and m.group(1) and not m.group(1).startswith(p.group(0)):
            print("%s -> %s" % (msgid, m.group(1)))
    if m:
        msgid, where = None, ""
' > "$tmp/prefix"
	[ -s "$tmp/prefix" ] && { fail "$po: translations that drop the message's leading subject:"; head -5 "$tmp/prefix"; }
done

# The program speaks Chinese where asked.
if ! locale -a 2> /dev/null | grep -qix 'c\.utf-\?8'; then
	echo "SKIP: Chinese --help: the C.UTF-8 locale is missing (locale -a)"
	[ $failed -eq 0 ] && exit 77
	exit 1
fi
[ -f build/locale/zh_CN/LC_MESSAGES/lmscope.mo ] || fail "build/locale/zh_CN/LC_MESSAGES/lmscope.mo missing (make all)"
zh() { env -u LC_ALL LANG=C.UTF-8 LANGUAGE=zh_CN LMSCOPE_LOCALEDIR=build/locale "$@"; }
zh "$LMSCOPE" --help > "$tmp/help" 2>&1 || fail "lmscope --help under LANGUAGE=zh_CN exits with $?"
grep -q -- '--version    显示版本号并退出$' "$tmp/help" || fail "--version's line is not in Chinese: $(grep -- --version "$tmp/help")"
grep -q '^用法：lmscope ' "$tmp/help" || fail "the usage line is not in Chinese: $(head -1 "$tmp/help")"
grep -q '^命令：$' "$tmp/help" || fail "no Chinese commands: heading"
zh "$LMSCOPE" lesson --help > "$tmp/lesson" 2>&1 || fail "lmscope lesson --help exits with $?"
grep -q -- '--speed N .*每秒输入的字符数' "$tmp/lesson" || fail "lesson --speed is not in Chinese: $(grep -- --speed "$tmp/lesson")"
out=$(zh "$LMSCOPE" explain --top x 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q "^lmscope: explain: --top 需要一个 >= 1 的整数，而不是“x”$" ||
	fail "an option error is not in Chinese: $out"
# a translated usage error keeps one "CMD: " prefix (front_usage drops the
# message's own when it starts with the command's name and an ASCII colon)
out=$(zh "$LMSCOPE" explain 2>&1)
[ "$out" = "lmscope: explain: 哪个模型？（lmscope explain MODEL --ids 1,2,3）" ] || fail "explain without a model: $out"
# The engine's errors, in Chinese and in English: one line, the same exit status.
# en_zh NAME STATUS ENGLISH CHINESE CMD...: CMD's stderr is "lmscope: ENGLISH"
# in the C locale and "lmscope: CHINESE" under LANGUAGE=zh_CN, status STATUS.
en_zh() {
	name=$1 st=$2 en=$3 cn=$4
	shift 4
	out=$(env LC_ALL=C LANGUAGE=zh_CN LMSCOPE_LOCALEDIR=build/locale "$@" 2>&1)
	rc=$?
	[ $rc -eq "$st" ] && [ "$out" = "lmscope: $en" ] || fail "$name in English (exit $rc): $out"
	out=$(zh "$@" 2>&1)
	rc=$?
	[ $rc -eq "$st" ] && [ "$out" = "lmscope: $cn" ] || fail "$name in Chinese (exit $rc): $out"
}
mkdir "$tmp/notmodel"
en_zh "a directory that is not a model" 4 "$tmp/notmodel: not a model directory (no config.json)" \
	"$tmp/notmodel: 不是模型目录（没有 config.json）" "$LMSCOPE" info "$tmp/notmodel"
printf 'GGUFxxxx' > "$tmp/short.gguf"
en_zh "a short GGUF file" 4 "$tmp/short.gguf: too short for a GGUF header (8 bytes)" \
	"$tmp/short.gguf: 太短，不足一个 GGUF 文件头（8 字节）" "$LMSCOPE" info "$tmp/short.gguf"
# magic, version 3, no tensors, one key whose name claims 1000 bytes: the
# field's name ("a key") is translated apart from the format
/usr/bin/python3 -c 'import struct, sys; sys.stdout.buffer.write(b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, 1000) + b"ab")' > "$tmp/key.gguf"
en_zh "a GGUF key past the end" 4 "$tmp/key.gguf: a key at byte 24 claims 1000 bytes, more than the file holds" \
	"$tmp/key.gguf: 键（第 24 字节）声称有 1000 字节，超过文件实际大小" "$LMSCOPE" info "$tmp/key.gguf"
en_zh "an --ablate head the model lacks" 2 'explain: --ablate: "0.99": heads 0 to 3, or mlp' \
	'explain: --ablate: “0.99”：头应为 0 到 3，或 mlp' \
	"$LMSCOPE" explain models/kjv-transformer --text "In the" --ablate 0.99
# a lesson file's mistake, as its author reads it
printf 'step One\nfrobnicate 3\n' > "$tmp/bad.lesson"
en_zh "an unknown lesson keyword" 4 "$tmp/bad.lesson:2: unknown keyword 'frobnicate'" \
	"$tmp/bad.lesson:2: 未知的关键字“frobnicate”" \
	"$LMSCOPE" lesson "$tmp/bad.lesson" models/kjv-transformer --check
# lesson --check's lines are data: the same under LANGUAGE=zh_CN, though a
# missing file's reason comes from the engine and a missing head's from the
# lesson code, both translated in the explorer
cat > "$tmp/x.lesson" <<'LEOF'
step One
context In the beginning God created the heaven and the
expect ppl < 1000 no/such/file.txt
expect head-induction-score 7.0 > 0.5
LEOF
env LC_ALL=C "$LMSCOPE" lesson "$tmp/x.lesson" models/kjv-transformer --check > "$tmp/check-en"
zh "$LMSCOPE" lesson "$tmp/x.lesson" models/kjv-transformer --check > "$tmp/check-zh"
grep -q 'head 7.0 does not exist' "$tmp/check-en" || fail "lesson --check: $(cat "$tmp/check-en")"
cmp -s "$tmp/check-en" "$tmp/check-zh" ||
	{ fail "lesson --check prints other lines under LANGUAGE=zh_CN:"; diff "$tmp/check-en" "$tmp/check-zh"; }

# With the Chinese locale generated, LANG alone is enough.
if locale -a 2> /dev/null | grep -qix 'zh_CN\.utf-\?8'; then
	env -u LC_ALL -u LANGUAGE LANG=zh_CN.UTF-8 LMSCOPE_LOCALEDIR=build/locale "$LMSCOPE" --help |
		grep -q -- '--version    显示版本号并退出$' || fail "LANG=zh_CN.UTF-8 --help is not in Chinese"
else
	echo "i18n.sh: LANG=zh_CN.UTF-8 not tried: the locale is not generated (LANGUAGE=zh_CN was)"
fi
# The C locale, and no catalog for the language, keep English.
env LC_ALL=C LANGUAGE=zh_CN LMSCOPE_LOCALEDIR=build/locale "$LMSCOPE" --help | grep -q -- '--version    print the version and exit$' ||
	fail "LC_ALL=C does not keep English"
env -u LC_ALL LANG=C.UTF-8 LANGUAGE=xx LMSCOPE_LOCALEDIR=build/locale "$LMSCOPE" --help | grep -q '^usage: lmscope ' ||
	fail "a language without a catalog is not English"

echo "i18n.sh: $failed problems"
[ $failed -eq 0 ]
