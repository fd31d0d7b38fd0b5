"""The textbook LSTM language model the explorer's recurrent tests read:
PyTorch's nn.LSTM written as a model directory lmscope opens (config.json +
model.safetensors), its gates scaled up so the states are far from zero.

    from torch_lstm import V, E, H, L, write_lstm
    m = write_lstm(DIR, seed)   # DIR/lstm, and the torch module to check against
"""
import json
import os

import torch
from torch import nn

from gpt2_crosscheck import write_safetensors

V, E, H, L = 13, 8, 10, 2


class LanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(V, E)
        self.encoder = nn.LSTM(E, H, L, batch_first=True)
        self.output = nn.Linear(H, V)


def write_lstm(parent, seed):
    torch.manual_seed(seed)
    m = LanguageModel()
    with torch.no_grad():
        for p in m.encoder.parameters():
            p.mul_(3.0)
    out = os.path.join(parent, "lstm")
    os.makedirs(out)
    json.dump({"model_type": "lstm", "vocab_size": V, "embedding_dim": E, "hidden_dim": H,
               "num_layers": L}, open(os.path.join(out, "config.json"), "w"))
    write_safetensors(m.state_dict(), os.path.join(out, "model.safetensors"))
    return m
