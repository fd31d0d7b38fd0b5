#!/bin/sh
# Writing a model directory never damages what is there. Every writer
# (train, convert, tokenizer train) builds the new directory beside the
# target and swaps it in whole, so after a failure the old directory is
# byte-identical (diff -r), and after a success no file of the old model is
# left to win over the new one. Cases: train/convert/tokenizer train into a
# model without --force (refused, naming what is there); a failed train
# ("0 tokens are too few") with --force; a BPE model trained over a
# word-level one (the old tokenizer_config.json used to win); stories260K
# converted over a word-level model (the old 91-token tokenizer used to
# stay); a disk that fills up mid-run (a small tmpfs, when it can be
# mounted); `tokenizer train --pattern '\C'` (a vocabulary of split UTF-8
# characters was written, then refused on load).
LMSCOPE=${LMSCOPE:-./lmscope}
STORIES=../shared/models/llama2c/stories260K.bin
tmp=$(mktemp -d) || exit 1
mounted=
trap '[ -n "$mounted" ] && umount "$mounted"; rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
unchanged() { # dir, its copy, case
	diff -r "$2" "$1" > "$tmp/diff" 2>&1 || { fail "$3: $1 changed:"; cat "$tmp/diff"; }
	leftovers=$(ls -a "$(dirname "$1")" | grep "^\.$(basename "$1")\.lmscope-")
	[ -z "$leftovers" ] || fail "$3: left behind: $leftovers"
}
status() { # wanted status class (ok, fail, 2, 3, ...), actual, case
	case $1 in
	ok) [ "$2" -eq 0 ] || fail "$3: exit status $2: $(cat "$tmp/err")" ;;
	fail) { [ "$2" -ne 0 ] && [ "$2" -lt 128 ]; } || fail "$3: exit status $2, wanted a failure" ;;
	*) [ "$2" -eq "$1" ] || fail "$3: exit status $2, wanted $1: $(cat "$tmp/err")" ;;
	esac
}
one_line() { # case, pattern: one error line (train's progress lines aside)
	[ "$(grep -c '^lmscope: ' "$tmp/err")" -eq 1 ] && tail -n 1 "$tmp/err" | grep -q "$2" ||
		{ fail "$1: stderr:"; cat "$tmp/err"; }
}

awk 'BEGIN { srand(5); split("cat dog bird fish horse", n, " "); split("runs sleeps eats jumps sings", v, " ");
	for (i = 0; i < 600; i++) printf "the %s %s .\n", n[int(rand() * 5) + 1], v[int(rand() * 5) + 1] }' > "$tmp/c.txt"
: > "$tmp/empty.txt"
train() {
	"$LMSCOPE" --threads 1 train "$@" --context 16 --batch 4 --embd 16 --layers 1 --heads 2 \
		--steps 3 --warmup 1 2> "$tmp/err"
}

# the model to protect: a word-level one, as the issue's models/agreement
train "$tmp/c.txt" -o "$tmp/word" --tokenizer word --vocab-size 64 || fail "setup: $(cat "$tmp/err")"
[ -f "$tmp/word/tokenizer_config.json" ] || fail "setup: no word-level tokenizer"
cp -a "$tmp/word" "$tmp/word.orig"

# ---- refused without --force, before anything is written
train "$tmp/c.txt" -o "$tmp/word"
status 2 $? "train without --force"
one_line "train without --force" "^lmscope: .*/word: holds a gpt2 model (.*config.json.*); --force replaces it$"
unchanged "$tmp/word" "$tmp/word.orig" "train without --force"

"$LMSCOPE" convert "$tmp/word.orig" -o "$tmp/word" > /dev/null 2> "$tmp/err"
status 2 $? "convert without --force"
one_line "convert without --force" "holds a gpt2 model"
unchanged "$tmp/word" "$tmp/word.orig" "convert without --force"

"$LMSCOPE" tokenizer train --char --vocab-size 20 "$tmp/c.txt" -o "$tmp/word" > /dev/null 2> "$tmp/err"
status 2 $? "tokenizer train without --force"
unchanged "$tmp/word" "$tmp/word.orig" "tokenizer train without --force"

# ---- a failed run leaves the target byte-identical
train "$tmp/empty.txt" -o "$tmp/word" --force
status fail $? "train on an empty corpus"
one_line "train on an empty corpus" "too few"
unchanged "$tmp/word" "$tmp/word.orig" "train on an empty corpus"

# ---- a new model replaces the old one whole: no stale tokenizer files
train "$tmp/c.txt" -o "$tmp/word" --force --tokenizer bpe --vocab-size 300
status ok $? "bpe over word"
[ -f "$tmp/word/tokenizer_config.json" ] && fail "bpe over word: the old tokenizer_config.json is still there"
"$LMSCOPE" info "$tmp/word" > "$tmp/info" 2> "$tmp/err" || fail "bpe over word: info: $(cat "$tmp/err")"
grep -q "^tokenizer: *byte-level BPE" "$tmp/info" || { fail "bpe over word: tokenizer:"; grep tokenizer "$tmp/info"; }
"$LMSCOPE" tokenize "$tmp/word" --text "the cat runs" > /dev/null 2> "$tmp/err" || fail "bpe over word: tokenize: $(cat "$tmp/err")"

if [ -f "$STORIES" ]; then
	rm -rf "$tmp/word" && cp -a "$tmp/word.orig" "$tmp/word"
	"$LMSCOPE" convert "$STORIES" -o "$tmp/word" --force > /dev/null 2> "$tmp/err"
	status ok $? "convert over word"
	[ "$(ls "$tmp/word" | tr '\n' ' ')" = "config.json model.safetensors " ] ||
		fail "convert over word: holds $(ls "$tmp/word" | tr '\n' ' ')"
	"$LMSCOPE" info "$tmp/word" > "$tmp/info" 2> "$tmp/err" || fail "convert over word: info: $(cat "$tmp/err")"
	grep -q "^tokenizer: *none" "$tmp/info" || { fail "convert over word: tokenizer:"; grep tokenizer "$tmp/info"; }
else
	echo "replace.sh: $STORIES missing, skipping the convert case"
fi

# ---- '\C' splits UTF-8 characters: refused before anything is written
printf 'caf\303\251 na\303\257ve \344\270\255\346\226\207\n' > "$tmp/u.txt"
"$LMSCOPE" tokenizer train --word --pattern '\C' --vocab-size 50 "$tmp/u.txt" -o "$tmp/tk" > /dev/null 2> "$tmp/err"
status 4 $? "pattern \\C"
one_line "pattern \\C" "\\\\C"
[ -e "$tmp/tk" ] && fail "pattern \\C: $tmp/tk was written"

# ---- a disk that fills up mid-run: a 1 MiB tmpfs holding the small model
mkdir "$tmp/small"
if mount -t tmpfs -o size=1m tmpfs "$tmp/small" 2> /dev/null; then
	mounted="$tmp/small"
	cp -a "$tmp/word.orig" "$tmp/small/word" && cp -a "$tmp/word.orig" "$tmp/word.small"
	# 2 layers of width 128: 1.6 MB of weights, twice (checkpoint and root)
	"$LMSCOPE" --threads 1 train "$tmp/c.txt" -o "$tmp/small/word" --force --context 16 --batch 4 \
		--embd 128 --layers 2 --heads 2 --steps 2 --warmup 1 2> "$tmp/err"
	status 3 $? "full disk"
	one_line "full disk" "No space left on device"
	unchanged "$tmp/small/word" "$tmp/word.small" "full disk"
else
	echo "replace.sh: cannot mount a tmpfs (not root?), skipping the full-disk case"
fi

echo "replace.sh: $failed problems"
[ $failed -eq 0 ]
