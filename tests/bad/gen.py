"""Writes the bad model directories that tests/cli/bad_models.sh feeds to
lmscope. Each case is tests/bad/<case>/: an `expected` file (the one line
lmscope must print, with MODEL standing for the case's directory), an
optional `path` (what to pass instead of the directory, relative to it) and
an optional hand-written config.json. The binary files are made here, from a
small valid GPT-2 (tests/cli/tinymodel.py) with one thing broken per case.

    python3 tests/bad/gen.py tests/bad OUTDIR
"""
import json
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import tinymodel as tm  # noqa: E402

CFG = tm.GPT2


def parts(tensors=None, dtype="F32"):
    """A valid file as (header dict, data bytes) to break."""
    tensors = tensors if tensors is not None else tm.gpt2_tensors(CFG)
    raw = tm.safetensors_bytes(tensors, dtype, {"format": "pt"})
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def assemble(header, data, text=None):
    text = text if text is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def valid():
    return assemble(*parts())


def with_header(edit):
    h, d = parts()
    edit(h)
    return assemble(h, d)


def drop(name):
    return assemble(*parts([t for t in tm.gpt2_tensors(CFG) if t[0] != name]))


def poison(value, dtype):
    ts = tm.gpt2_tensors(CFG, 1, dtype)
    name, shape, vals = ts[0]
    vals = list(vals)
    vals[5] = value
    ts[0] = (name, shape, vals)
    return assemble(*parts(ts, dtype))


def set_entry(name, **kw):
    def edit(h):
        h[name].update(kw)
    return with_header(edit)


def overlap(h):
    h["ln_f.bias"]["data_offsets"] = list(h["ln_f.weight"]["data_offsets"])


def wrong_vocab():
    ts = tm.gpt2_tensors(CFG)
    ts[0] = ("wte.weight", (CFG["V"] + 1, CFG["C"]), list(ts[0][2]) + [0.0] * CFG["C"])
    return assemble(*parts(ts))


def extra_layer():
    cfg3 = dict(CFG, L=3)
    return assemble(*parts(tm.gpt2_tensors(cfg3)))


def duplicate_key():
    h, d = parts()
    text = json.dumps(h).encode()
    entry = json.dumps({"wte.weight": h["wte.weight"]}).encode()[1:-1]
    return assemble(None, d, text[:-1] + b", " + entry + b"}")


def bad_utf8():
    h, d = parts()
    text = json.dumps(h).encode().replace(b'"ln_f.bias"', b'"ln_f.\xff\xfe"')
    return assemble(None, d, text)


def lstm_wrong_gates():
    ts = tm.lstm_tensors(tm.LSTM)
    # a GRU's 3 gates where config.json says LSTM (4)
    out = []
    for name, shape, vals in ts:
        if name.startswith("encoder."):
            shape = (3 * tm.LSTM["H"],) + tuple(shape[1:])
            vals = vals[:tm.numel(shape)]
        out.append((name, shape, vals))
    return assemble(*parts(out))


CASES = {
    "no_config": valid,
    "no_weights": None,
    "not_a_directory": valid,
    "config_invalid_json": valid,
    "config_invalid_utf8": valid,
    "config_missing_key": valid,
    "config_not_integer": valid,
    "config_absurd_size": valid,
    "config_unknown_type": valid,
    "config_heads": valid,
    "config_activation": valid,
    "config_head_dim": valid,
    "empty_file": lambda: b"",
    "short_file": lambda: b"\x10\x00\x00",
    "header_past_end": lambda: struct.pack("<Q", 1 << 40) + b"{}",
    "header_not_json": lambda: assemble(None, b"", b"{\"wte.weight\": [1, 2"),
    "header_not_object": lambda: assemble(None, b"", b"[1, 2, 3]"),
    "header_invalid_utf8": bad_utf8,
    "header_duplicate_key": duplicate_key,
    "truncated": lambda: valid()[:-100],
    "offsets_outside": lambda: set_entry("ln_f.bias", data_offsets=[0, 1 << 30]),
    "offsets_reversed": lambda: set_entry("ln_f.bias", data_offsets=[64, 32]),
    "offsets_overlap": lambda: with_header(overlap),
    "span_mismatch": lambda: set_entry("ln_f.bias", shape=[9]),
    "absurd_shape": lambda: set_entry("ln_f.bias", shape=[1 << 40, 1 << 40, 1 << 40]),
    "unknown_dtype": lambda: set_entry("ln_f.bias", dtype="F17"),
    "unsupported_dtype": lambda: set_entry("ln_f.bias", dtype="I32"),
    "missing_tensor": lambda: drop("h.1.mlp.c_fc.bias"),
    "shape_vs_config": wrong_vocab,
    "unexpected_tensor": extra_layer,
    "nan_weight": lambda: poison(float("nan"), "F32"),
    "inf_weight_f16": lambda: poison(float("inf"), "F16"),
    "lstm_wrong_gates": lstm_wrong_gates,
}

def llama2c_bin(dim=8, hidden=16, layers=1, heads=2, kv=1, vocab=11, seq=4, cut=0, header=None):
    """A llama2.c checkpoint (zeros), cut bytes short, or with a given header."""
    hs = dim // heads
    n = (vocab * dim + layers * dim + 2 * layers * dim * dim + 2 * layers * kv * hs * dim
         + layers * dim + 3 * layers * hidden * dim + dim + seq * hs)
    head = header if header is not None else (dim, hidden, layers, heads, kv, vocab, seq)
    data = struct.pack("<7i", *head) + bytes(4 * n)
    return data[:len(data) - cut] if cut else data


def llama2c_tokenizer(pieces, cut=0):
    out = struct.pack("<i", 8)
    for i, (score, piece) in enumerate(pieces):
        out += struct.pack("<fi", score, len(piece)) + piece
    return out[:len(out) - cut] if cut else out


def gguf(version=3, kv_extra=(), arch="llama", cut=0, offset_shift=0, ttype=0, nan=False,
         key_len=None, tokens=None, q4=False):
    """A tiny Llama as GGUF (F32 tensors, or Q4_0 blocks with q4; C = H = 32,
    one layer, V = 11), with one thing broken: written here from the
    format's description, not by lmscope."""
    C, H, V = 32, 32, 11

    def s(x):
        x = x.encode() if isinstance(x, str) else x
        return struct.pack("<Q", len(x)) + x

    kvs = [("general.architecture", 8, s(arch))]
    for k, v in (("context_length", 16), ("embedding_length", C), ("block_count", 1),
                 ("feed_forward_length", H), ("attention.head_count", 2)):
        kvs.append(("%s.%s" % (arch, k), 4, struct.pack("<I", v)))
    kvs += list(kv_extra)
    if tokens is not None:
        kvs.append(("tokenizer.ggml.model", 8, s("llama")))
        kvs.append(("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, tokens)))
    names = [("token_embd.weight", (C, V)), ("output_norm.weight", (C,))]
    for n, shape in (("attn_norm", (C,)), ("attn_q", (C, C)), ("attn_k", (C, C)), ("attn_v", (C, C)),
                     ("attn_output", (C, C)), ("ffn_norm", (C,)), ("ffn_gate", (C, H)),
                     ("ffn_up", (C, H)), ("ffn_down", (H, C))):
        names.append(("blk.0.%s.weight" % n, shape))
    out = b"GGUF" + struct.pack("<IQQ", version, len(names), len(kvs))
    for k, t, v in kvs:
        out += (struct.pack("<Q", key_len) + k.encode() if key_len else s(k)) + struct.pack("<I", t) + v
    data, off = b"", 0
    for i, (n, shape) in enumerate(names):
        numel = 1
        for d in shape:
            numel *= d
        vals = [0.01 * ((j * 7 + i) % 13 - 6) for j in range(numel)]
        if nan and i == 0:
            vals[3] = float("nan")
        blob = struct.pack("<%df" % numel, *vals)
        t = ttype if i == 2 else 0
        if q4:  # d = 0.01, nibbles from the values' pattern
            blob = b"".join(struct.pack("<e", 0.01) + bytes((b * 37 + i) % 256 for b in range(16))
                            for _ in range(numel // 32))
            t = 2
        out += s(n) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        out += struct.pack("<IQ", t, off + (offset_shift if i == 2 else 0))
        data += blob + bytes(-len(blob) % 32)
        off = len(data)
    out += bytes(-len(out) % 32) + data
    return out[:len(out) - cut] if cut else out


SPM = [(0.0, b"<unk>"), (0.0, b"<s>"), (0.0, b"</s>")] + [(0.0, b"<0x%02X>" % i) for i in range(256)]
WORD_CONFIG = json.dumps({"type": "word", "unk_token": "<unk>", "pattern": "[\\p{L}\\p{N}]+|[^\\s\\p{L}\\p{N}]"}).encode()
WORD_VOCAB = json.dumps({w: i for i, w in enumerate(
    ["<unk>", "in", "the", "beginning", "god", "created", "heaven", "and", "earth", ".", ","])}).encode()



def HF_JSON(vocab=None, merges=None, **parts):
    """A small tokenizer.json (BPE over a, b, ab) with parts replaced."""
    doc = {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": None,
           "post_processor": None, "decoder": None,
           "model": {"type": "BPE", "vocab": vocab or {"a": 0, "b": 1, "ab": 2},
                     "merges": merges if merges is not None else ["a b"]}}
    doc.update(parts)
    return json.dumps(doc).encode()


# Files other than config.json and model.safetensors: name -> bytes, or DIR
# for a directory where a file belongs. A case whose `path` names one of
# them passes that file to lmscope instead of the directory.
DIR = object()
EXTRA = {
    "config_is_directory": {"config.json": DIR},
    "weights_is_directory": {"model.safetensors": DIR},
    "vocab_invalid_json": {"tokenizer_config.json": WORD_CONFIG, "vocab.json": b'{"<unk>": 0, "in": 1,'},
    "vocab_ids_not_dense": {"tokenizer_config.json": WORD_CONFIG,
                            "vocab.json": b'{"<unk>": 0, "in": 1, "the": 5}'},
    "vocab_invalid_utf8": {"tokenizer_config.json": WORD_CONFIG,
                           "vocab.json": b'{"<unk>": 0, "in\xff": 1}'},
    "vocab_is_directory": {"tokenizer_config.json": WORD_CONFIG, "vocab.json": DIR},
    "tokenizer_bad_pattern": {"tokenizer_config.json": b'{"type": "word", "pattern": "(["}',
                              "vocab.json": WORD_VOCAB},
    "tokenizer_more_tokens": {"tokenizer_config.json": WORD_CONFIG, "vocab.json": json.dumps(
        {"w%d" % i if i else "<unk>": i for i in range(12)}).encode()},
    "merges_bad_line": {"vocab.json": json.dumps(dict({chr(65 + i): i for i in range(10)}, AB=10)).encode(),
                        "merges.txt": b"#version: 0.2\nA B\nC\n"},
    "hfjson_invalid_json": {"tokenizer.json": b'{"model": {"type": "BPE", "vocab": {"a": 0,'},
    "hfjson_pre_tokenizer_unknown": {"tokenizer.json": HF_JSON(pre_tokenizer={"type": "Whitespace"})},
    "hfjson_normalizer_unknown": {"tokenizer.json": HF_JSON(normalizer={"type": "Sequence", "normalizers": [
        {"type": "NFC"}, {"type": "Lowercase"}]})},
    "hfjson_model_unknown": {"tokenizer.json": json.dumps({"model": {"type": "WordPiece", "vocab": {"a": 0}}}).encode()},
    "hfjson_bad_regex": {"tokenizer.json": HF_JSON(pre_tokenizer={"type": "Split", "pattern": {"Regex": "(["},
                                                                  "behavior": "Isolated", "invert": False})},
    "hfjson_ids_not_dense": {"tokenizer.json": HF_JSON(vocab={"a": 0, "b": 1, "ab": 5})},
    "hfjson_merge_unknown_token": {"tokenizer.json": HF_JSON(merges=["a c"])},
    "hfjson_config_bos_unknown": {"tokenizer.json": HF_JSON(), "tokenizer_config.json": b'{"bos_token": "<s>"}'},
    "llama2c_absurd_header": {"model.bin": llama2c_bin(header=(1 << 30, 16, 1, 2, 1, 11, 4))},
    "llama2c_short": {"model.bin": llama2c_bin(cut=10)},
    "llama2c_negative_dims": {"model.bin": llama2c_bin(header=(8, -16, 1, 2, 1, 11, 4))},
    "llama2c_empty": {"model.bin": b""},
    "spm_truncated": {"tokenizer.bin": llama2c_tokenizer(SPM[:11], cut=3)},
    "gguf_truncated": {"model.gguf": gguf(cut=100)},
    "gguf_bad_version": {"model.gguf": gguf(version=1)},
    "gguf_bad_alignment": {"model.gguf": gguf(offset_shift=4)},
    "gguf_unknown_type": {"model.gguf": gguf(ttype=9)},
    "gguf_huge_array": {"model.gguf": gguf(tokens=1 << 40)},
    "gguf_huge_string": {"model.gguf": gguf(key_len=1 << 50)},
    "gguf_unknown_arch": {"model.gguf": gguf(arch="phi3")},
    "gguf_nan_weight": {"model.gguf": gguf(nan=True)},
    "spm_negative_length": {"tokenizer.bin": llama2c_tokenizer(SPM[:10] + [(0.0, b"")])[:-4]
                            + struct.pack("<i", -5)},
}

CASES.update({case: valid for case in EXTRA})

DEFAULT_CONFIG = tm.gpt2_config(CFG)
CONFIGS = {
    "config_invalid_utf8": b'{"model_type": "gpt2", "vocab_size": 11, "name": "\xc3\x28"}',
    "lstm_wrong_gates": json.dumps(tm.lstm_config(tm.LSTM)).encode(),
}


def main(src, out):
    listed = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    if listed != sorted(CASES):
        sys.exit("gen.py: cases in %s %r differ from the generator's %r" % (src, listed, sorted(CASES)))
    for case, make in CASES.items():
        d = os.path.join(out, case)
        os.makedirs(d)
        given = os.path.join(src, case, "config.json")
        if os.path.exists(given):
            shutil.copy(given, d)
        elif case in CONFIGS:
            open(os.path.join(d, "config.json"), "wb").write(CONFIGS[case])
        elif case != "no_config":
            json.dump(DEFAULT_CONFIG, open(os.path.join(d, "config.json"), "w"))
        if make:
            open(os.path.join(d, "model.safetensors"), "wb").write(make())
        for name, data in EXTRA.get(case, {}).items():
            p = os.path.join(d, name)
            if os.path.isfile(p):
                os.remove(p)
            if data is DIR:
                os.makedirs(p)
            else:
                open(p, "wb").write(data)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
