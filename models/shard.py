#!/usr/bin/python3
"""Splits DIR/model.safetensors into Hugging Face's sharded layout, as
save_pretrained(max_shard_size=...) writes it: model-0000K-of-0000N.safetensors
files of at most MAX_MB megabytes each (a tensor larger than that gets a
shard of its own), tensors in their stored order and bytes unchanged, and
model.safetensors.index.json mapping each tensor to its shard. lmscope reads
either layout (src/engine/io/shards.c); the committed models stay under the
repository's file-size limit this way.

    models/shard.py DIR MAX_MB

Standard library only; the single file is removed once the shards and the
index are written."""

import json
import os
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    return head, raw[8 + n:]


def write(path, meta, tensors):
    """tensors: (name, dtype, shape, bytes) in order."""
    head, pos = {}, 0
    if meta is not None:
        head["__metadata__"] = meta
    for name, dtype, shape, data in tensors:
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + len(data)]}
        pos += len(data)
    text = json.dumps(head, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for t in tensors:
            f.write(t[3])
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        print("usage: shard.py DIR MAX_MB", file=sys.stderr)
        return 2
    d, limit = sys.argv[1], int(float(sys.argv[2]) * 1e6)
    head, data = read(os.path.join(d, "model.safetensors"))
    meta = head.pop("__metadata__", None)
    names = sorted(head, key=lambda k: head[k]["data_offsets"][0])
    groups, size = [[]], 0
    for k in names:
        b, e = head[k]["data_offsets"]
        if groups[-1] and size + (e - b) > limit:
            groups.append([])
            size = 0
        groups[-1].append((k, head[k]["dtype"], head[k]["shape"], data[b:e]))
        size += e - b
    weight_map = {}
    for i, g in enumerate(groups):
        fname = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        write(os.path.join(d, fname), meta, g)
        weight_map.update({t[0]: fname for t in g})
    index = {"metadata": {"total_size": len(data)}, "weight_map": weight_map}
    tmp = os.path.join(d, "model.safetensors.index.json.tmp")
    with open(tmp, "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(d, "model.safetensors.index.json"))
    os.remove(os.path.join(d, "model.safetensors"))
    print(f"{d}: {len(groups)} shards of at most {limit / 1e6:g} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
