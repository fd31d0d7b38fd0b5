"""llama_f16.py DIR VOCAB: writes DIR/config.json and DIR/model.safetensors,
a random two-layer Llama of width 512 in F16 (its 2-D weights stay mapped
in place when lmscope loads it), with the standard library alone so that a
shell test can make one without PyTorch."""
import json
import os
import random
import struct
import sys

d, vocab = sys.argv[1], int(sys.argv[2])
C, H, L = 512, 1024, 2
cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": vocab,
       "hidden_size": C, "intermediate_size": H, "num_hidden_layers": L,
       "num_attention_heads": 8, "num_key_value_heads": 8, "max_position_embeddings": 4096,
       "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
       "torch_dtype": "float16"}
shapes = [("model.embed_tokens.weight", (vocab, C)), ("model.norm.weight", (C,)),
          ("lm_head.weight", (vocab, C))]
for l in range(L):
    p = "model.layers.%d." % l
    shapes += [(p + "input_layernorm.weight", (C,)), (p + "post_attention_layernorm.weight", (C,))]
    shapes += [(p + "self_attn.%s_proj.weight" % x, (C, C)) for x in "qkvo"]
    shapes += [(p + "mlp.gate_proj.weight", (H, C)), (p + "mlp.up_proj.weight", (H, C)),
               (p + "mlp.down_proj.weight", (C, H))]
rng = random.Random(7)
# one random block of halves, reused: the values only need to be finite
pool = struct.pack("<4096e", *[rng.gauss(0, 0.02) for _ in range(4096)])
ones = struct.pack("<e", 1.0)
header, blobs, off = {}, [], 0
for name, shape in shapes:
    n = 1
    for s in shape:
        n *= s
    data = ones * n if len(shape) == 1 else (pool * (n // 4096 + 1))[:2 * n]
    header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [off, off + 2 * n]}
    blobs.append(data)
    off += 2 * n
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for b in blobs:
        f.write(b)
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump(cfg, f)
