#!/bin/sh
# The translations are complete and reach the user: the committed template
# po/lmscope.pot holds exactly the strings marked in the sources (make pot
# into a temporary file; only the creation date may differ); every catalog
# po/LANG.po merged with it has no untranslated and no fuzzy message, and
# compiles with its format strings checked; and `lmscope --help` under
# LANGUAGE=zh_CN prints the Chinese of a known option line and of the
# usage, an option error is Chinese too, while the C locale keeps English.
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
