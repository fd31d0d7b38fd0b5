"""Writes the seed corpora of the fuzz targets (tests/fuzz/seeds/<target>/),
small valid inputs the fuzzers mutate. Run once from the project root; the
output is committed.

    python3 tests/fuzz/seeds.py
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, os.path.join(HERE, "..", "bad"))
import gen  # noqa: E402
import tinymodel as tm  # noqa: E402

SEEDS = os.path.join(HERE, "seeds")

TEXTS = [
    b"In the beginning God created the heaven and the earth.",
    b"I'm sure they'll've done it, don't you think?  \n\n\ttabs\t and  spaces   ",
    "caf\u00e9 na\u00efve \u65e5\u672c\u8a9e \U0001F600 \u00a0nbsp 12345 3.14".encode(),
    b"\xff\xfe invalid \xc3 utf-8 \xe2\x82 \x00 nul",
    b"<0x41> <s> </s> <unk> \xe2\x96\x81",
]


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def model_seed(config, tensors, dtype="F32"):
    return json.dumps(config).encode() + b"\0" + tm.safetensors_bytes(tensors, dtype, {"format": "pt"})


def llama2c_checkpoint(dim, hidden, layers, heads, kv, vocab, seq, shared=True):
    hs = dim // heads
    n = (vocab * dim + layers * dim + layers * dim * dim + 2 * layers * kv * hs * dim
         + layers * dim * dim + layers * dim + 3 * layers * hidden * dim + dim + seq * hs)
    if not shared:
        n += vocab * dim
    vals = [((i * 37) % 101 - 50) / 100.0 for i in range(n)]
    head = struct.pack("<7i", dim, hidden, layers, heads, kv, vocab if shared else -vocab, seq)
    return head + struct.pack("<%df" % n, *vals)


def llama2c_tokenizer(src, pieces):
    """The first pieces of a real tokenizer.bin (its header, then pieces)."""
    with open(src, "rb") as f:
        data = f.read()
    out, at = data[:4], 4
    for _ in range(pieces):
        n = struct.unpack("<i", data[at + 4:at + 8])[0]
        out += data[at:at + 8 + n]
        at += 8 + n
    return out


def gguf_tokenizer():
    """tokenizer.ggml.* entries of a sentencepiece-style vocabulary of 11."""
    toks = [b"<unk>", b"<s>", b"</s>", b"\xe2\x96\x81the", b"a", b"b", b"ab", b"<0x41>", b"c", b"d", b"e"]

    def s(x):
        return struct.pack("<Q", len(x)) + x

    return [("tokenizer.ggml.model", 8, s(b"llama")),
            ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(toks)) + b"".join(s(t) for t in toks)),
            ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, len(toks))
             + b"".join(struct.pack("<f", -i) for i in range(len(toks)))),
            ("tokenizer.ggml.token_type", 9, struct.pack("<IQ", 5, len(toks))
             + struct.pack("<11i", 2, 3, 3, 1, 1, 1, 1, 6, 1, 1, 1)),
            ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1))]


def main():
    g = tm.GPT2
    put("modeldir", "gpt2", model_seed(tm.gpt2_config(g), tm.gpt2_tensors(g)))
    put("modeldir", "gpt2_f16", model_seed(tm.gpt2_config(g), tm.gpt2_tensors(g, 1, "F16"), "F16"))
    l = tm.LSTM
    put("modeldir", "lstm", model_seed(tm.lstm_config(l), tm.lstm_tensors(l)))
    put("gguf", "llama_q4", gen.gguf(q4=True))
    put("gguf", "llama_q4_tok", gen.gguf(q4=True, kv_extra=gguf_tokenizer()))
    put("llama2c", "shared", llama2c_checkpoint(8, 16, 1, 2, 1, 12, 4))
    put("llama2c", "separate", llama2c_checkpoint(8, 12, 2, 2, 2, 10, 3, shared=False))
    tok = os.path.join(HERE, "..", "..", "..", "shared", "tokenizers", "llama2", "tokenizer.bin")
    put("llama2c_tok", "first300", llama2c_tokenizer(tok, 300))
    for i, t in enumerate(TEXTS):
        for target in ("tok_word", "tok_char", "tok_bpe", "tok_spm"):
            put(target, "text%d" % i, t)
        put("dataset", "text%d" % i, bytes([(i * 53) % 256]) + t * 3)


if __name__ == "__main__":
    main()
