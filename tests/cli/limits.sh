#!/bin/sh
# A model larger than the memory available is refused before its weights
# are read, with one line naming the file and the sizes, exit status 5 (not
# an OOM kill, not a long read). The files are sparse: they claim gigabytes
# and take almost no disk. Cases: a GPT-2 directory of 1.6 billion F16
# parameters under `ulimit -v` of 5 GB (its 3.2 GB file is mapped, then the
# 6.4 GB of F32 parameters are refused), a llama2.c checkpoint of 1.1
# billion under 3 GB, and a small GPT-2 whose million positions would need
# terabytes of attention activations, under no limit at all.
LMSCOPE=${LMSCOPE:-./lmscope}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
/usr/bin/python3 - "$tmp" <<'PY' || { echo "limits.sh: could not write the files"; exit 1; }
import json, os, struct, sys

out = sys.argv[1]


def gpt2_dir(path, V, C, L, P, dtype="F16"):
    shapes = [("wte.weight", (V, C)), ("wpe.weight", (P, C))]
    for l in range(L):
        p = "h.%d." % l
        shapes += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
                   (p + "attn.c_attn.weight", (C, 3 * C)), (p + "attn.c_attn.bias", (3 * C,)),
                   (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
                   (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
                   (p + "mlp.c_fc.weight", (C, 4 * C)), (p + "mlp.c_fc.bias", (4 * C,)),
                   (p + "mlp.c_proj.weight", (4 * C, C)), (p + "mlp.c_proj.bias", (C,))]
    shapes += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    header, off = {}, 0
    for name, shape in shapes:
        n = 2
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(path)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump({"model_type": "gpt2", "vocab_size": V, "n_positions": P, "n_embd": C,
                   "n_layer": L, "n_head": 8, "activation_function": "gelu_new"}, f)
    with open(os.path.join(path, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        f.truncate(8 + len(text) + off)


def llama2c(path, dim, hidden, layers, heads, kv, vocab, seq):
    hs = dim // heads
    n = (vocab * dim + layers * dim + 2 * layers * dim * dim + 2 * layers * kv * hs * dim
         + layers * dim + 3 * layers * hidden * dim + dim + seq * hs)
    with open(path, "wb") as f:
        f.write(struct.pack("<7i", dim, hidden, layers, heads, kv, vocab, seq))
        f.truncate(28 + 4 * n)


gpt2_dir(os.path.join(out, "big-gpt2"), 50257, 4096, 7, 1024)
llama2c(os.path.join(out, "big-llama.bin"), 4096, 11008, 5, 32, 32, 32000, 2048)
gpt2_dir(os.path.join(out, "long-gpt2"), 100, 64, 2, 1000000)
PY

want='the model needs [0-9.]+ GiB \([0-9]+ parameters, and activations at context [0-9]+\) but only [0-9.]+ GiB of memory is available$'
check() { # path, shell prefix, the file the message names
	start=$(date +%s)
	err=$(sh -c "$2 \"\$0\" info \"\$1\"" "$LMSCOPE" "$1" 2>&1 > /dev/null)
	rc=$?
	secs=$(($(date +%s) - start))
	[ $rc -eq 5 ] || fail "$1: exit status $rc, wanted 5 ($err)"
	[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "$1: more than one line: $err"
	printf '%s\n' "$err" | grep -qE "^lmscope: $3: $want" || fail "$1: message: $err"
	[ $secs -le 10 ] || fail "$1: took $secs s (the weights were read?)"
	echo "$err"
}
check "$tmp/big-gpt2" "ulimit -v 5000000;" "$tmp/big-gpt2/model.safetensors"
check "$tmp/big-llama.bin" "ulimit -v 3000000;" "$tmp/big-llama.bin"
check "$tmp/long-gpt2" "" "$tmp/long-gpt2/model.safetensors"
# an address space too small to map the 3.2 GB file at all: still exit 5
# (not 3, as a file that cannot be read)
err=$(sh -c 'ulimit -v 2000000; timeout 60 "$0" --threads 1 info "$1"' "$LMSCOPE" "$tmp/big-gpt2" 2>&1 > /dev/null)
rc=$?
[ $rc -eq 5 ] || fail "big-gpt2 under ulimit -v 2000000: exit status $rc, wanted 5 ($err)"
[ "$err" = "lmscope: $tmp/big-gpt2/model.safetensors: cannot map 3239436952 bytes: out of memory" ] ||
	fail "big-gpt2 under ulimit -v 2000000: message: $err"
# training: the check before the run covers the activations of batch x
# context and their gradients, the parameters' gradients and AdamW's state
# (here 16 sequences of 2048 positions through 8 layers of width 128: 4.5
# GiB of activations and their gradients under a 3 GB address space), and
# refuses before any of it is allocated, leaving no directory behind
awk 'BEGIN { for (i = 0; i < 8000; i++) printf "the cat %d runs .\n", i % 7 }' > "$tmp/c.txt"
err=$(sh -c 'ulimit -v 3000000; timeout 60 "$0" --threads 1 train "$1/c.txt" -o "$1/t" --context 2048 \
	--batch 16 --heads 16 --layers 8 --embd 128 --steps 1' "$LMSCOPE" "$tmp" 2>&1 > /dev/null)
rc=$?
[ $rc -eq 5 ] || fail "train under ulimit -v 3000000: exit status $rc, wanted 5 ($err)"
printf '%s\n' "$err" | tail -n 1 | grep -qE '^lmscope: train: batch 16 x context 2048 needs [0-9.]+ GiB more \(activations and their gradients, parameter gradients and AdamW state\) but only [0-9.]+ GiB of memory is available$' ||
	fail "train under ulimit -v 3000000: message: $err"
[ -e "$tmp/t" ] && fail "train under ulimit -v 3000000: $tmp/t was created"
echo "limits.sh: $failed problems"
[ $failed -eq 0 ]
