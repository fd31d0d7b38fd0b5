#!/bin/sh
# What a command prints reaches its destination or the command fails:
# every command writing to a full disk (/dev/full) exits 3 with one line
# "lmscope: CMD: standard output: No space left on device", and a figure
# whose disk fills up too, leaving no file. generate prints as it goes:
# stopped by SIGINT, it exits 130 with one line on stderr, after a newline,
# and what it printed is
# exactly what an uninterrupted run with as many tokens prints (same seed);
# its text tokenizes back to the prompt and the ids --json reports.
LMSCOPE=${LMSCOPE:-./lmscope}
M=models/agreement
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
[ -f "$M/model.safetensors" ] || { echo "output.sh: $M is missing"; exit 1; }
[ -c /dev/full ] || { echo "output.sh: /dev/full is missing"; exit 1; }

"$LMSCOPE" generate "$M" --text the -n 300 --seed 1 > "$tmp/text.txt" || fail "generate the text"
full() { # the command's name in the message, then the command line
	name=$1; shift
	"$LMSCOPE" "$@" > /dev/full 2> "$tmp/err"
	rc=$?
	[ $rc -eq 3 ] || fail "$* > /dev/full: exit $rc, wanted 3 ($(cat "$tmp/err"))"
	[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$* > /dev/full: stderr is not one line: $(cat "$tmp/err")"
	grep -qx "lmscope: ${name}standard output: No space left on device" "$tmp/err" ||
		fail "$* > /dev/full: $(cat "$tmp/err")"
}
full "info: " info "$M"
full "eval: " eval "$M" "$tmp/text.txt" --json
full "eval: " eval "$M" "$tmp/text.txt"
full "generate: " generate "$M" --text the -n 5
full "generate: " generate "$M" --text the -n 5 --json
full "importance: " importance "$M" "$tmp/text.txt" --positions 2 --repeats 1 --examples 20 --json
full "explain: " explain "$M" --text "the dog" --json
full "explain: " explain "$M" --text "the dog" --csv
full "tokenize: " tokenize "$M" --text "the dog"
full "convert: " convert "$M" -o "$tmp/conv"
full "tokenizer: " tokenizer train --word --vocab-size 40 "$tmp/text.txt" -o "$tmp/tok"
full "train: " train --help
full "lesson: " lesson --help
full "" --help
full "" --version
full "" "$M" --help
# A figure is written under a temporary name and renamed (atomically), so
# a disk that fills up is a file size limit here (SIGXFSZ ignored, the
# write fails): exit 3, one line, and no file left, whole or partial.
mkdir "$tmp/fig"
(trap '' XFSZ; ulimit -f 8; "$LMSCOPE" explain "$M" --text "the dog" --figure "$tmp/fig/full.svg" \
	> /dev/null 2> "$tmp/err")
[ $? -eq 3 ] || fail "explain --figure on a full disk: $(cat "$tmp/err")"
[ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "explain --figure on a full disk: $(cat "$tmp/err")"
[ -z "$(ls -A "$tmp/fig")" ] || fail "explain --figure on a full disk left $(ls -A "$tmp/fig")"

# generate, interrupted: exit 130, a newline, nothing lost
timeout --preserve-status -s INT 3 "$LMSCOPE" generate "$M" --text "the dog" -n 1000000 --seed 3 \
	> "$tmp/int.out" 2> "$tmp/int.err"
rc=$?
[ $rc -eq 130 ] || fail "generate under SIGINT: exit $rc, wanted 130 ($(cat "$tmp/int.err"))"
[ "$(wc -l < "$tmp/int.err")" -eq 1 ] || fail "generate under SIGINT: stderr $(cat "$tmp/int.err")"
n=$(sed -n 's/^lmscope: generate: interrupted after \([0-9]*\) tokens$/\1/p' "$tmp/int.err")
[ -n "$n" ] && [ "$n" -gt 0 ] || fail "generate under SIGINT: $(cat "$tmp/int.err")"
[ "$(tail -c 1 "$tmp/int.out" | od -An -c | tr -d ' ')" = '\n' ] || fail "generate under SIGINT: no newline at the end"
"$LMSCOPE" generate "$M" --text "the dog" -n "${n:-1}" --seed 3 > "$tmp/whole.out" || fail "generate -n $n: exit $?"
cmp -s "$tmp/int.out" "$tmp/whole.out" || fail "generate: interrupted after $n tokens, the output differs from -n $n"

# the streamed text is the prompt and the tokens generated
"$LMSCOPE" generate "$M" --text "the dog" -n 40 --seed 7 > "$tmp/g.txt" || fail "generate: exit $?"
"$LMSCOPE" generate "$M" --text "the dog" -n 40 --seed 7 --json > "$tmp/g.json" || fail "generate --json: exit $?"
"$LMSCOPE" tokenize "$M" --json "$tmp/g.txt" > "$tmp/g.tok" || fail "tokenize: exit $?"
/usr/bin/python3 - "$tmp/g.json" "$tmp/g.tok" <<'PY' || fail "generate's text does not tokenize back to its ids"
import json, sys
g, t = (json.load(open(p)) for p in sys.argv[1:])
assert len(g["ids"]) == 40, g
assert t["ids"] == g["prompt_ids"] + g["ids"], (t["ids"], g)
PY
# with a timeout -s INT during JSON output: the object of what was made
timeout --preserve-status -s INT 2 "$LMSCOPE" generate "$M" --text "the dog" -n 1000000 --json > "$tmp/int.json" 2> /dev/null
rc=$?
[ $rc -eq 130 ] || fail "generate --json under SIGINT: exit $rc"
/usr/bin/python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); assert o["ids"] and len(o["ids"]) == len(o["tokens"])' \
	"$tmp/int.json" || fail "generate --json under SIGINT: $(head -c 200 "$tmp/int.json")"

echo "output.sh: $failed problems"
[ $failed -eq 0 ]
