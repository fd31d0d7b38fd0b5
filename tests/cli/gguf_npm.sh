#!/bin/sh
# GGUF files written by `lmscope convert` (F32, F16, Q8_0, Q4_0), read by
# Hugging Face's independent parser, the npm package @huggingface/gguf
# (fetched into build/npm by `make build/npm/node_modules/@huggingface/gguf`):
# metadata and tensor infos as tests/cli/gguf_npm.mjs expects them. Skipped
# (exit 77) when node or the npm registry is not reachable.
LMSCOPE=${LMSCOPE:-./lmscope}
PKG=build/npm/node_modules/@huggingface/gguf
command -v node > /dev/null || { echo "skipped: node is not installed"; exit 77; }
if [ ! -d "$PKG" ] && ! make --no-print-directory "$PKG" > /dev/null 2>&1; then
	echo "skipped: npm could not fetch @huggingface/gguf"; exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c "import sys; sys.path[:0] = ['tests/bad', 'tests/cli']; import gen
open(sys.argv[1], 'wb').write(gen.gguf())" "$tmp/src.gguf" || exit 1
failed=0
for t in F32 F16 Q8_0 Q4_0; do
	"$LMSCOPE" convert "$tmp/src.gguf" -o "$tmp/$t.gguf" --type $t > /dev/null || { failed=1; continue; }
	node tests/cli/gguf_npm.mjs "$PWD/$PKG" "$tmp/$t.gguf" $t "$(wc -c < "$tmp/$t.gguf")" || failed=1
done
[ $failed -eq 0 ]
