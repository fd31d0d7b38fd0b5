#!/bin/sh
# Hostile input files: a FIFO as config.json, model.safetensors or a
# tokenizer file is refused at once (it used to hang in open()), under
# `timeout`; a model file replaced or truncated while lmscope loads it gives
# an error, never a SIGBUS death (a writer rewrites and truncates it in a
# loop while `info` loads it, under `timeout`); a terminal escape sequence
# in merges.txt reaches stderr escaped; a NUL-byte token prints as
# "\u0000"; an unreadable model directory or tokenizer_config.json says
# "Permission denied" (exit 3), not "no config.json" or "line -1"; a
# 16-bit Llama whose weights stay mapped, cut short while `generate` reads
# it, ends with one line naming the file (exit 3).
LMSCOPE=${LMSCOPE:-./lmscope}
tmp=$(mktemp -d) || exit 1
trap 'kill $writer 2> /dev/null; rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

awk 'BEGIN { srand(5); split("cat dog bird fish horse", n, " "); split("runs sleeps eats jumps sings", v, " ");
	for (i = 0; i < 400; i++) printf "the %s %s .\n", n[int(rand() * 5) + 1], v[int(rand() * 5) + 1] }' > "$tmp/c.txt"
"$LMSCOPE" --threads 1 train "$tmp/c.txt" -o "$tmp/m" --vocab-size 64 --context 16 --batch 4 --embd 16 \
	--layers 1 --heads 2 --steps 2 --warmup 1 2> "$tmp/err" || { echo "inputs.sh: setup: $(cat "$tmp/err")"; exit 1; }
rm -rf "$tmp/m/checkpoint" "$tmp/m/logs"

# ---- FIFOs
for f in config.json model.safetensors vocab.json tokenizer_config.json; do
	rm -rf "$tmp/f" && cp -a "$tmp/m" "$tmp/f" && rm "$tmp/f/$f" && mkfifo "$tmp/f/$f"
	timeout 20 "$LMSCOPE" info "$tmp/f" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq 3 ] || fail "FIFO $f: exit status $rc, wanted 3 (124: it hung)"
	[ "$(cat "$tmp/err")" = "lmscope: $tmp/f/$f: not a regular file" ] || fail "FIFO $f: $(cat "$tmp/err")"
done

# ---- a model file rewritten and truncated while it loads: a 24 MB
# model, a writer that copies it over itself (cp truncates in place) and
# cuts it short, again and again
"$LMSCOPE" --threads 1 train "$tmp/c.txt" -o "$tmp/big" --vocab-size 64 --context 16 --batch 2 --embd 512 \
	--layers 2 --heads 2 --steps 1 --warmup 1 2> "$tmp/err" || { echo "inputs.sh: setup: $(cat "$tmp/err")"; exit 1; }
cp "$tmp/big/model.safetensors" "$tmp/whole"
size=$(wc -c < "$tmp/whole")
( while :; do cp "$tmp/whole" "$tmp/big/model.safetensors"; truncate -s $((size / 3)) "$tmp/big/model.safetensors"; done ) &
writer=$!
bad=0 errors=0
for i in $(seq 25); do
	timeout 20 "$LMSCOPE" --threads 1 info "$tmp/big" > /dev/null 2> "$tmp/err"
	rc=$?
	if [ $rc -ge 124 ]; then
		bad=$((bad + 1)); fail "truncated while loading: exit status $rc (SIGBUS is 135, a hang 124)"
	elif [ $rc -ne 0 ]; then
		errors=$((errors + 1))
		[ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "^lmscope: $tmp/big/model.safetensors: " "$tmp/err" ||
			fail "truncated while loading: $(cat "$tmp/err")"
	fi
	[ $bad -gt 3 ] && break
done
kill $writer; wait $writer 2> /dev/null
echo "inputs.sh: 25 loads of a file being rewritten: $errors refused with a message, $bad deaths"

# ---- a model whose weights stay mapped (16-bit Llama) cut short while a
# generation reads it: one line naming the file and exit 3, not SIGBUS
/usr/bin/python3 "$(dirname "$0")/lib/llama_f16.py" "$tmp/l" "$(/usr/bin/python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$tmp/m/vocab.json")" ||
	{ echo "inputs.sh: setup: llama_f16.py failed"; exit 1; }
cp "$tmp/m/vocab.json" "$tmp/m/tokenizer_config.json" "$tmp/l/"
timeout 60 "$LMSCOPE" --threads 1 generate "$tmp/l" --text "the" -n 100000 > /dev/null 2> "$tmp/err" &
gen=$!
sleep 1
truncate -s 3000000 "$tmp/l/model.safetensors"
wait $gen
rc=$?
[ $rc -eq 3 ] || fail "mapped weights cut short: exit status $rc, wanted 3 (135: SIGBUS, 124: it hung)"
[ "$(cat "$tmp/err")" = "lmscope: $tmp/l/model.safetensors: the file shrank while in use (replaced or truncated by another program)" ] ||
	fail "mapped weights cut short: $(cat "$tmp/err")"

# ---- an escape sequence in merges.txt stays text
mkdir "$tmp/esc"
printf '{"a": 0, "b": 1}' > "$tmp/esc/vocab.json"
printf '#version: 0.2\n\033[2J\033]0;pwned\007 x\n' > "$tmp/esc/merges.txt"
"$LMSCOPE" tokenize "$tmp/esc" --text hello > /dev/null 2> "$tmp/err"
rc=$?
[ $rc -eq 4 ] || fail "escape in merges.txt: exit status $rc, wanted 4"
if LC_ALL=C grep -q "$(printf '[\033\007]')" "$tmp/err"; then fail "escape in merges.txt: raw control bytes on stderr"; fi
grep -q 'x1B\[2J' "$tmp/err" || fail "escape in merges.txt: $(cat -v "$tmp/err")"

# ---- a NUL-byte token
printf 'ab\000cd\000\n' > "$tmp/z.txt"
"$LMSCOPE" tokenizer train --char --vocab-size 20 "$tmp/z.txt" -o "$tmp/z" > /dev/null 2> "$tmp/err" || fail "NUL: $(cat "$tmp/err")"
"$LMSCOPE" tokenize "$tmp/z" "$tmp/z.txt" --json > "$tmp/out" 2> "$tmp/err" || fail "NUL: $(cat "$tmp/err")"
grep -qF '"tokens": ["a", "b", "\u0000", "c", "d", "\u0000", "\n"]' "$tmp/out" || fail "NUL: $(cat "$tmp/out")"

# ---- unreadable files (as an unprivileged user when run as root, which
# reads anything)
as_user=
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv > /dev/null && as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" -ne 0 ] || [ -n "$as_user" ]; then
	chmod 755 "$tmp"
	rm -rf "$tmp/p" && cp -a "$tmp/m" "$tmp/p" && chmod -R a+rX "$tmp/p" && chmod 000 "$tmp/p"
	$as_user "$LMSCOPE" info "$tmp/p" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq 3 ] || fail "unreadable directory: exit status $rc, wanted 3"
	[ "$(cat "$tmp/err")" = "lmscope: $tmp/p: Permission denied" ] || fail "unreadable directory: $(cat "$tmp/err")"
	$as_user "$LMSCOPE" tokenize "$tmp/p" --text hi > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq 3 ] || fail "unreadable tokenizer directory: exit status $rc, wanted 3"
	[ "$(cat "$tmp/err")" = "lmscope: $tmp/p: Permission denied" ] ||
		fail "unreadable tokenizer directory: $(cat "$tmp/err")"
	chmod 755 "$tmp/p" && chmod 000 "$tmp/p/tokenizer_config.json"
	$as_user "$LMSCOPE" info "$tmp/p" > /dev/null 2> "$tmp/err"
	rc=$?
	[ $rc -eq 3 ] || fail "unreadable tokenizer_config.json: exit status $rc, wanted 3"
	[ "$(cat "$tmp/err")" = "lmscope: $tmp/p/tokenizer_config.json: Permission denied" ] ||
		fail "unreadable tokenizer_config.json: $(cat "$tmp/err")"
	chmod -R u+rwX "$tmp/p"
else
	echo "inputs.sh: root without setpriv, skipping the unreadable-file cases"
fi

echo "inputs.sh: $failed problems"
[ $failed -eq 0 ]
