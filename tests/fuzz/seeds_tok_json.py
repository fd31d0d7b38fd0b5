"""Writes the seeds of the tok_json fuzz target (tests/fuzz/seeds/tok_json/):
small hand-made tokenizer.json files, each followed by a NUL byte and a text.
Run once from the project root; the output is committed.

    python3 tests/fuzz/seeds_tok_json.py
"""
import json
import os

SEEDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "tok_json")
SP = "\u2581"
TEXT = "caf\u00e9 cafe\u0301 don't  12345 \u65e5\u672c <s>ab</s> \U0001F469\u200d\U0001F467".encode() + \
    b" \xff\xc3 end"


def byte_chars():
    bs = list(range(0x21, 0x7f)) + list(range(0xa1, 0xad)) + list(range(0xae, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def bytelevel(normalizer=None):
    ch = byte_chars()
    vocab = {ch[b]: b for b in range(256)}
    for t in ["ab", "\u0120a", "\u0120ab"]:
        vocab[t] = len(vocab)
    return {"added_tokens": [{"id": len(vocab), "content": "<s>", "special": True}],
            "normalizer": normalizer,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}| ?\\p{L}+|\\s+(?!\\S)|\\s+"},
                 "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]},
            "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "ignore_merges": True, "vocab": vocab,
                      "merges": [["\u0120", "a"], "\u0120a b", "a b"]}}


def spm(metaspace):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for t in [SP, "a", "b", SP + "a", "ab", SP + "ab"]:
        vocab[t] = len(vocab)
    added = [{"id": i, "content": c, "special": True} for i, c in enumerate(["<unk>", "<s>", "</s>"])]
    doc = {"added_tokens": added,
           "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": True, "fuse_unk": True,
                     "vocab": vocab, "merges": [SP + " a", SP + "a b", "a b"]}}
    if metaspace:
        doc["pre_tokenizer"] = {"type": "Metaspace", "replacement": SP, "prepend_scheme": "first",
                                "split": True}
        doc["decoder"] = {"type": "Metaspace", "replacement": SP, "prepend_scheme": "first"}
    else:
        doc["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Prepend", "prepend": SP},
            {"type": "Replace", "pattern": {"String": " "}, "content": SP}]}
        doc["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SP}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    return doc


def main():
    os.makedirs(SEEDS, exist_ok=True)
    seeds = {"bytelevel": bytelevel(), "bytelevel_nfc": bytelevel({"type": "NFC"}),
             "llama2": spm(False), "metaspace": spm(True)}
    for name, doc in seeds.items():
        with open(os.path.join(SEEDS, name), "wb") as f:
            f.write(json.dumps(doc, ensure_ascii=False).encode() + b"\0" + TEXT)


if __name__ == "__main__":
    main()
