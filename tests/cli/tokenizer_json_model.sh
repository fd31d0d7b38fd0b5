#!/bin/sh
# A model directory whose tokenizer is a tokenizer.json (Llama 2's layout:
# Prepend and Replace normalizers, the Strip decoder) with a
# tokenizer_config.json that asks for BOS: `info` names the tokenizer,
# `explain` feeds BOS then the ids worked out by hand ("ab c" -> "_ab_c" ->
# _ab, _c with the merges _ a, _a b, a b, _ c), and a file that names an
# unknown pre-tokenizer is refused with one line naming it.
LMSCOPE=${LMSCOPE:-./lmscope}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
m=$tmp/model
/usr/bin/python3 tests/cli/tinymodel.py gpt2 "$m" || exit 1
/usr/bin/python3 - "$m" <<'PY' || exit 1
import json, sys
SP = "\u2581"
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, SP: 3, "a": 4, "b": 5, SP + "a": 6, "ab": 7, SP + "ab": 8,
         "c": 9, SP + "c": 10}
doc = {"added_tokens": [{"id": i, "content": c, "special": True}
                        for i, c in enumerate(["<unk>", "<s>", "</s>"])],
       "normalizer": {"type": "Sequence", "normalizers": [
           {"type": "Prepend", "prepend": SP},
           {"type": "Replace", "pattern": {"String": " "}, "content": SP}]},
       "decoder": {"type": "Sequence", "decoders": [
           {"type": "Replace", "pattern": {"String": SP}, "content": " "}, {"type": "Fuse"},
           {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
       "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": True, "vocab": vocab,
                 "merges": [SP + " a", SP + "a b", "a b", SP + " c"]}}
json.dump(doc, open(sys.argv[1] + "/tokenizer.json", "w"))
json.dump({"add_bos_token": True, "bos_token": "<s>", "eos_token": "</s>"},
          open(sys.argv[1] + "/tokenizer_config.json", "w"))
PY
failed=0
check() { # name, want, got
	if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got $3, wanted $2"; failed=1; fi
}
check "info" "tokenizer:    sentencepiece BPE, 11 tokens" "$("$LMSCOPE" info "$m" | grep '^tokenizer:')"
check "explain ids" '{"ids":[1,8,10],"tokens":["<s>"," ab"," c"],' \
	"$("$LMSCOPE" explain "$m" --text "ab c" --json | cut -c1-44)"
/usr/bin/python3 -c 'import json, sys
p = sys.argv[1] + "/tokenizer.json"
d = json.load(open(p)); d["pre_tokenizer"] = {"type": "BertPreTokenizer"}; json.dump(d, open(p, "w"))' "$m"
"$LMSCOPE" info "$m" > /dev/null 2> "$tmp/err"
rc=$?
check "refusal status" 6 "$rc"
check "refusal message" "lmscope: $m/tokenizer.json: pre_tokenizer \"BertPreTokenizer\" is not supported" \
	"$(cat "$tmp/err")"
exit $failed
