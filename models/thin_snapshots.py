#!/usr/bin/python3
"""Keeps only some of a training run's snapshots (train --snapshot-every).

`train --snapshot-every N` spaces its snapshots evenly; a model shipped for
a class wants them dense where something happens (the induction model's
phase change) and sparse elsewhere, to stay a few MB. This removes every
snapshot whose step is not listed, and rewrites snapshots/index.json
(atomically: a temporary file renamed over it) with the entries kept, in
the same format and order.

usage: models/thin_snapshots.py MODEL_DIR STEP...
"""
import json
import os
import shutil
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: models/thin_snapshots.py MODEL_DIR STEP...")
    sdir = os.path.join(sys.argv[1], "snapshots")
    keep = {int(s) for s in sys.argv[2:]}
    index = os.path.join(sdir, "index.json")
    entries = json.load(open(index))
    missing = keep - {e["step"] for e in entries}
    if missing:
        sys.exit("%s: no snapshot at step %s" % (index, ", ".join(map(str, sorted(missing)))))
    kept = [e for e in entries if e["step"] in keep]
    tmp = index + ".tmp"
    with open(tmp, "w") as f:
        json.dump(kept, f, indent=2)
        f.write("\n")
    os.replace(tmp, index)
    for e in entries:
        if e["step"] not in keep:
            shutil.rmtree(os.path.join(sdir, e["path"]))


if __name__ == "__main__":
    main()
