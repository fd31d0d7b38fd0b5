#!/bin/sh
# lmscope tokenize and tokenizer train: GPT-2's ids against an independent
# reference encoder, training round trips, and bad input that must not crash.
set -u
L=${LMSCOPE:-./lmscope}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() { if eval "$2"; then :; else echo "FAIL: $1"; fail=1; fi; }

# GPT-2's files are external (../shared beside the project): without them
# the GPT-2 cases are skipped, one line, and the rest runs.
GPT2=../shared/tokenizers/gpt2
gpt2=
for f in "$GPT2/encoder.json" "$GPT2/vocab.bpe"; do
	[ -f "$f" ] || { echo "SKIP: tokenize.sh GPT-2 cases: $f missing"; gpt2=; break; }
	gpt2=$GPT2
done
printf 'a\377b\000c\300\200 \355\240\200 x\n' > "$T/bad.bin"
if [ -n "$gpt2" ]; then
	# GPT-2 byte-level BPE: exact ids on hard cases and random text.
	/usr/bin/python3 tests/tokenizer/gpt2_check.py "$L" || fail=1
	# Byte-level BPE round-trips bytes that are not UTF-8, NULs included.
	ids=$("$L" tokenize "$gpt2" "$T/bad.bin" --json)
	check "bpe on invalid UTF-8" '[ -n "$ids" ]'
fi

# Word-level: train, tokenize, unknown words.
printf 'The cat sat on the mat.\nThe dog sat on the log, and the cat ran!\n' > "$T/c.txt"
"$L" tokenizer train --word --vocab-size 50 --lowercase "$T/c.txt" -o "$T/w" > /dev/null
check "word tokenizer files" '[ -f "$T/w/tokenizer_config.json" ] && [ -f "$T/w/vocab.json" ]'
out=$("$L" tokenize "$T/w" --text "The cat sat on a zebra." --json)
check "word-level unknown word" 'echo "$out" | grep -q "\"<unk>\""'
check "word-level counts unk" 'echo "$out" | grep -q "\"unk\": 2"'

# Char-level.
"$L" tokenizer train --char --vocab-size 100 "$T/c.txt" -o "$T/ch" > /dev/null
n=$("$L" tokenize "$T/ch" --text "cat" | wc -l)
check "char-level: one token a character" '[ "$n" -eq 3 ]'

# BPE training writes files the loader reads back.
"$L" tokenizer train --bpe --vocab-size 300 "$T/c.txt" -o "$T/b" > /dev/null
check "bpe files" 'head -1 "$T/b/merges.txt" | grep -q "^#version"'
check "bpe trained tokenizer loads" '"$L" tokenize "$T/b" --text "the cat" > /dev/null'

# Malformed files: one line naming the file and the line.
cp "$T/b/vocab.json" "$T/b/vocab.ok"
cp "$T/b/merges.txt" "$T/b/merges.ok"
sed '3s/: [0-9]*/: x/' "$T/b/vocab.ok" > "$T/b/vocab.json"
err=$("$L" tokenize "$T/b" --text hi 2>&1 >/dev/null); rc=$?
check "malformed vocab.json fails" '[ $rc -ne 0 ]'
check "malformed vocab.json names file and line" 'echo "$err" | grep -q "vocab.json: line 3:"'
check "one line" '[ $(echo "$err" | wc -l) -eq 1 ]'
cp "$T/b/vocab.ok" "$T/b/vocab.json"
head -2 "$T/b/merges.ok" > "$T/b/merges.txt"
printf 'not_a_token x\n' >> "$T/b/merges.txt"
err=$("$L" tokenize "$T/b" --text hi 2>&1 >/dev/null); rc=$?
check "malformed merges.txt names file and line" 'echo "$err" | grep -q "merges.txt: line 3:"'

# Bad input never crashes: empty, NULs, invalid UTF-8, a long line.
for d in $gpt2 "$T/w" "$T/ch"; do
	: > "$T/empty.txt"
	check "empty input ($d)" '"$L" tokenize "$d" "$T/empty.txt" > /dev/null'
	check "invalid bytes ($d)" '"$L" tokenize "$d" "$T/bad.bin" > /dev/null 2>&1'
	head -c 300000 /dev/zero | tr '\0' 'a' > "$T/long.txt"
	check "long line ($d)" '"$L" tokenize "$d" "$T/long.txt" --json > /dev/null'
done
check "no tokenizer: error" '! "$L" tokenize "$T" --text hi 2>/dev/null'

[ $fail -eq 0 ] && echo "tokenize.sh: all passed"
exit $fail
