#!/bin/sh
# The command line as getopt_long reads it (src/front/opts.c): --name=VALUE
# is --name VALUE, a unique abbreviation is the option, an ambiguous one is
# an error naming the candidates, -- ends the options, a flag given a value
# and an option without one are errors (one line, exit 2); options after
# the positional arguments work. Options naming files fail when the file is
# missing, naming it (exit 3), before anything is written. explain --target/--contrast take a token's text (a
# text of two tokens is an error saying how it tokenizes) and give what
# --target-id/--contrast-id give. eval --batch beyond the windows there are
# is capped (it runs where 1000 rows would not fit) and a batch that does
# not fit is refused before the run, with exit 5.
LMSCOPE=${LMSCOPE:-./lmscope}
M=models/agreement
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
[ -f "$M/model.safetensors" ] || { echo "options.sh: $M is missing"; exit 1; }

# error: exit status, message, then the command line
expect() {
	want_rc=$1; want_msg=$2; shift 2
	"$LMSCOPE" "$@" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq "$want_rc" ] || fail "$*: exit $rc, wanted $want_rc ($(cat "$tmp/err"))"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$*: stderr is not one line: $(cat "$tmp/err")"
	grep -qF -- "$want_msg" "$tmp/err" || fail "$*: message '$(cat "$tmp/err")', wanted '$want_msg'"
}
# the same standard output from two command lines (separated by ::)
same() {
	what=$1; shift
	a=""; while [ "$1" != "::" ]; do a="$a '$1'"; shift; done; shift
	b=""; for x in "$@"; do b="$b '$x'"; done
	eval "\"\$LMSCOPE\" $a" > "$tmp/a" 2> "$tmp/ea" || fail "$what: $a exits with $? ($(cat "$tmp/ea"))"
	eval "\"\$LMSCOPE\" $b" > "$tmp/b" 2> "$tmp/eb" || fail "$what: $b exits with $? ($(cat "$tmp/eb"))"
	[ -s "$tmp/a" ] || fail "$what: no output"
	cmp -s "$tmp/a" "$tmp/b" || fail "$what: $a and $b differ"
}

same "--name=VALUE" explain "$M" --text "the dog" --top 3 --json :: explain "$M" --text="the dog" --top=3 --json
same "abbreviations" generate "$M" --text "the dog" -n 5 --temperature 0 :: generate "$M" --tex "the dog" -n5 --temp=0
same "options after the arguments" explain "$M" --ids 1,65 --json :: explain --json --ids 1,65 "$M"
same "global abbreviation" --threads 1 info "$M" :: --thr=1 info "$M"
expect 2 "--t is ambiguous: --text, --target, --target-id, --top, --tokenizer" explain "$M" --t x
expect 2 "unknown option --bogus (see lmscope explain --help)" explain "$M" --bogus=3
expect 2 "unknown option -x (see lmscope generate --help)" generate "$M" -x
expect 2 "--json takes no value" eval "$M" "$M/vocab.json" --json=yes
expect 2 "--text wants a value" tokenize "$M" --text
expect 2 "--top wants an integer >= 1, not '0'" explain "$M" --ids 1 --top=0
expect 2 "--top-p wants a number from 0 to 1, not '2'" generate "$M" --text the --top-p 2
expect 2 "--speed wants a number from 0.5 to 1000" lesson x.lesson --speed 0.1
expect 2 "unknown option --bogus (see lmscope --help)" "$M" --bogus
expect 2 "unknown option --nope (see lmscope --help)" --nope
# -- ends the options: a text that starts with a dash is a file name after it
printf 'the dog is here .\n' > "$tmp/-t.txt"
( cd "$tmp" && "$OLDPWD/$LMSCOPE" tokenize "$OLDPWD/$M" -- -t.txt ) > "$tmp/dd" 2>&1 || fail "tokenize -- -t.txt: $(cat "$tmp/dd")"
[ "$(wc -l < "$tmp/dd")" -eq 5 ] || fail "tokenize -- -t.txt: $(cat "$tmp/dd")"

# a tokenizer that is not there
for c in info "explain --ids 1" "eval $M/vocab.json" "generate --ids 1" "convert -o $tmp/c"; do
	set -- $c
	cmd=$1; shift
	expect 3 "/nonexistent/tok.bin: No such file or directory" "$cmd" "$M" --tokenizer /nonexistent/tok.bin "$@"
done
expect 3 "/nonexistent/valid.txt: No such file or directory" train "$M/vocab.json" -o "$tmp/t" --valid /nonexistent/valid.txt
[ -e "$tmp/t" ] && fail "train --valid /nonexistent/valid.txt: wrote $tmp/t"
mkdir "$tmp/empty"
expect 4 "$tmp/empty: no tokenizer files" info "$M" --tokenizer "$tmp/empty"

# explain --target TEXT is --target-id ID (ids from tokenize)
dog=$("$LMSCOPE" tokenize "$M" --text dog | cut -f1)
is=$("$LMSCOPE" tokenize "$M" --text is | cut -f1)
[ -n "$dog" ] && [ -n "$is" ] || fail "tokenize dog/is: '$dog' '$is'"
same "--target by text" explain "$M" --text "the" --target dog --contrast is --json :: \
	explain "$M" --text "the" --target-id "$dog" --contrast-id "$is" --json
grep -q "\"target\": *{\"id\": *$dog," "$tmp/a" || fail "--target dog: $(head -c 300 "$tmp/a")"
expect 2 "--target 'the dog' is 2 tokens, not one: \"the\" \"dog\"" explain "$M" --text the --target "the dog"
expect 2 "--contrast '' is 0 tokens" explain "$M" --text the --contrast ""
expect 2 "give a token by text or by id, not both" explain "$M" --text the --target dog --target-id 3

# eval --batch: capped at the windows (188 of 32 tokens here), so 1000
# rows (330 MiB of activations) are never allocated; beyond what fits,
# refused before the run
"$LMSCOPE" generate "$M" --text the -n 3000 --seed 1 > "$tmp/text.txt" || fail "generate the text"
"$LMSCOPE" eval "$M" "$tmp/text.txt" --json > "$tmp/b8" || fail "eval --batch 8: exit $?"
(ulimit -v 600000; timeout 120 "$LMSCOPE" --threads 1 eval "$M" "$tmp/text.txt" --batch 1000 --json) > "$tmp/b1000" 2> "$tmp/err" ||
	fail "eval --batch 1000 under ulimit -v 600000: exit $? ($(cat "$tmp/err"))"
/usr/bin/python3 - "$tmp/b8" "$tmp/b1000" <<'PY' || fail "--batch 1000 and --batch 8 disagree"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["tokens"] == b["tokens"] > 2000, (a, b)
assert abs(a["cross_entropy"] - b["cross_entropy"]) < 1e-6, (a, b)
PY
for i in 1 2 3 4 5 6 7 8; do cat "$tmp/text.txt"; done > "$tmp/long.txt"
(ulimit -v 600000; timeout 120 "$LMSCOPE" --threads 1 eval "$M" "$tmp/long.txt" --batch 100000 --json) > /dev/null 2> "$tmp/err"
rc=$?
[ $rc -eq 5 ] || fail "eval --batch 100000 under ulimit -v: exit $rc, wanted 5 ($(cat "$tmp/err"))"
grep -qE '^lmscope: eval: [0-9]+ sequences of 32 positions need [0-9.]+ GiB of activations but only [0-9.]+ GiB of memory is available$' "$tmp/err" ||
	fail "eval --batch 100000: $(cat "$tmp/err")"

echo "options.sh: $failed problems"
[ $failed -eq 0 ]
