"""Writes a random-weight Llama checkpoint of a real model's shape as a
Hugging Face directory with BF16 safetensors (tensor by tensor, so that a
1.1B-parameter model never sits in memory whole):

    make_hf_llama.py tinyllama DIR   TinyLlama-1.1B: 22 layers, d 2048, FFN 5632,
                                     32 heads, 4 KV heads, vocab 32000, untied
    make_hf_llama.py smollm2 DIR     SmolLM2-135M: 30 layers, d 576, 9 heads,
                                     3 KV heads, FFN 1536, vocab 49152, tied

Weights N(0, 1/in) and unit norms, so activations keep their scale through
the layers. max_position_embeddings is 256 (the real models say 2048 and
8192): lmscope's runs are allocated, and its memory check counts their
activations, at the full context (SmolLM2 at 8192 positions: 12 GB, most of
it a row of logits per position), while the bench uses 64 to 1024. Nothing is rewritten when DIR/config.json already exists."""
import json
import math
import os
import struct
import sys

import torch

SHAPES = {
    "tinyllama": dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                      num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=256,
                      tie_word_embeddings=False, rope_theta=10000.0, rms_norm_eps=1e-5),
    "smollm2": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                    num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=256,
                    tie_word_embeddings=True, rope_theta=100000.0, rms_norm_eps=1e-5),
}


def tensors(cfg):
    """(name, shape) in the state_dict's order."""
    C, H, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    KC = cfg["num_key_value_heads"] * (C // cfg["num_attention_heads"])
    out = [("model.embed_tokens.weight", (V, C))]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", (C,)), (p + "self_attn.q_proj.weight", (C, C)),
                (p + "self_attn.k_proj.weight", (KC, C)), (p + "self_attn.v_proj.weight", (KC, C)),
                (p + "self_attn.o_proj.weight", (C, C)), (p + "post_attention_layernorm.weight", (C,)),
                (p + "mlp.gate_proj.weight", (H, C)), (p + "mlp.up_proj.weight", (H, C)),
                (p + "mlp.down_proj.weight", (C, H))]
    out.append(("model.norm.weight", (C,)))
    if not cfg["tie_word_embeddings"]:
        out.append(("lm_head.weight", (V, C)))
    return out


def main():
    shape, d = sys.argv[1], sys.argv[2]
    cfg = dict(SHAPES[shape], model_type="llama", architectures=["LlamaForCausalLM"],
               hidden_act="silu", torch_dtype="bfloat16")
    if os.path.exists(os.path.join(d, "config.json")):
        return
    os.makedirs(d, exist_ok=True)
    header, pos = {"__metadata__": {"format": "pt"}}, 0
    for name, shp in tensors(cfg):
        n = math.prod(shp) * 2
        header[name] = {"dtype": "BF16", "shape": list(shp), "data_offsets": [pos, pos + n]}
        pos += n
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    gen = torch.Generator().manual_seed(0)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for name, shp in tensors(cfg):
            if len(shp) == 1:
                t = torch.ones(shp)
            else:
                t = torch.randn(shp, generator=gen) / math.sqrt(shp[1])
                if name == "model.embed_tokens.weight":
                    t *= math.sqrt(shp[1])
            f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


main()
