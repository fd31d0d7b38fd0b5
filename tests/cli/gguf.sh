#!/bin/sh
# GGUF on the command line: a model converted to GGUF F32 and back computes
# exactly what the original computes (explain's JSON is identical), in every
# command that takes MODEL; quantized files open in each command; --type is
# checked before anything is read; tokenize and info read a GGUF file.
# (tests/torch/gguf_crosscheck.py checks the numbers of every type.)
LMSCOPE=${LMSCOPE:-./lmscope}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

/usr/bin/python3 -c "import sys; sys.path[:0] = ['tests/bad', 'tests/cli']; import gen
open(sys.argv[1], 'wb').write(gen.gguf())" "$tmp/src.gguf" || exit 1
"$LMSCOPE" convert "$tmp/src.gguf" -o "$tmp/dir" > /dev/null || fail "convert GGUF -> directory"
"$LMSCOPE" convert "$tmp/dir" -o "$tmp/back.gguf" > /dev/null || fail "convert directory -> GGUF"
for m in "$tmp/src.gguf" "$tmp/dir" "$tmp/back.gguf"; do
	"$LMSCOPE" explain "$m" --ids 1,5,9,2 --json --top 11 --attention > "$tmp/$(basename "$m").json" ||
		fail "explain $m"
done
cmp -s "$tmp/src.gguf.json" "$tmp/dir.json" || fail "the directory computes other numbers than the GGUF file"
cmp -s "$tmp/src.gguf.json" "$tmp/back.gguf.json" || fail "GGUF -> directory -> GGUF changed the numbers"
cmp -s "$tmp/src.gguf" "$tmp/back.gguf" && fail "the round trip should rename general.name (test is stale)"

for t in Q8_0 Q4_0 F16; do
	"$LMSCOPE" convert "$tmp/src.gguf" -o "$tmp/$t.gguf" --type $t > /dev/null || fail "convert --type $t"
	"$LMSCOPE" info "$tmp/$t.gguf" | grep -q '^parameters: *7616$' || fail "info $t"
	"$LMSCOPE" generate "$tmp/$t.gguf" --ids 1 -n 3 --temperature 0 > /dev/null || fail "generate $t"
	"$LMSCOPE" explain "$tmp/$t.gguf" --ids 1,2,3 --method integrated_gradients > /dev/null ||
		fail "explain $t"
done

"$LMSCOPE" convert "$tmp/src.gguf" -o "$tmp/x.gguf" --type Q9_9 > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && grep -q 'unknown --type Q9_9' "$tmp/err" || fail "--type Q9_9 accepted"
"$LMSCOPE" convert "$tmp/src.gguf" -o "$tmp/d2" --type Q8_0 > /dev/null 2> "$tmp/err"
[ $? -eq 2 ] && grep -q 'needs -o FILE.gguf' "$tmp/err" || fail "--type without a .gguf output accepted"

"$LMSCOPE" tokenize tests/fuzz/seeds/gguf/llama_q4_tok --text "ab" > "$tmp/tok" 2> /dev/null || fail "tokenize a GGUF file"
grep -q '"ab"' "$tmp/tok" || fail "tokenize: no \"ab\" token"
"$LMSCOPE" info tests/fuzz/seeds/gguf/llama_q4_tok | grep -q 'sentencepiece BPE, 11 tokens' ||
	fail "info: the GGUF tokenizer"
[ $failed -eq 0 ] && echo "gguf.sh: all passed"
[ $failed -eq 0 ]
