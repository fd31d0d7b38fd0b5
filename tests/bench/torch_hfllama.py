"""PyTorch's side of bench_hfllama.c: the saliency at context 64 (forward
over the 64 positions, log p(argmax) at the last, backward to the input
embeddings) of a Hugging Face Llama directory, the forward written as
tests/torch/hf_llama_crosscheck.py writes it, in float32 on the BF16
weights. Prints RESULT lines under the same keys."""
import json
import os
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch"))
from hf_llama_crosscheck import hf_forward  # noqa: E402


def read_bf16(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        raw = torch.frombuffer(bytearray(data[8 + n + a:8 + n + b]), dtype=torch.int16)
        out[name] = raw.view(torch.bfloat16).float().reshape(t["shape"])
    return out


def main():
    d, name = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(d, "config.json")))
    sd = read_bf16(os.path.join(d, "model.safetensors"))
    V, CTX = cfg["vocab_size"], 64
    ids = [(i * 7919 + 13) % V for i in range(CTX)]
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        emb = sd["model.embed_tokens.weight"][ids].clone().requires_grad_(True)
        logits, _ = hf_forward(cfg, sd, emb)
        logp = torch.log_softmax(logits[-1], -1)
        logp[int(logp.argmax())].backward()
        times.append(time.perf_counter() - t0)
    print("RESULT %s_saliency_ctx64_ms %.6g ms" % (name, 1e3 * min(times)))


main()
