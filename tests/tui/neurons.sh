#!/bin/sh
# The MLP neurons pane on the shipped KJV Transformer (a copy, so that the
# neuron cache is written beside it in the temporary directory): a context
# is typed, N puts the pane in the lens's place, and the neuron ids and
# activations on screen - at the last token, then two tokens back, then in
# the next layer - are checked against `lmscope neurons` over a corpus that
# is the context itself (every neuron's activation at every position) and
# against the same activations recomputed in PyTorch from the weights.
# Enter on a neuron first names the command that makes the corpus cache;
# after running it, Enter lists the contexts `lmscope neurons --neuron N
# --json` lists for the corpus the explorer was opened with; in a layer
# without a cache, r makes it on the engine thread. A recurrent model says
# the pane does not apply.
set -u
. "$(dirname "$0")/lib/tmux.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
cp -r "$root/models/kjv-transformer" "$d/m"
text='And God said, Let there be light'
printf '%s' "$text" > "$d/context.txt"
cat > "$d/ncorpus.txt" <<'TXT'
In the beginning God created the heaven and the earth.
And God said, Let there be light: and there was light.
And God saw the light, that it was good: and God divided the light from the darkness.
And God called the light Day, and the darkness he called Night.
And the evening and the morning were the first day.
TXT

# check LAYER: the pane's neurons (ids, activations, the position in its
# title) against every neuron of LAYER at that position of the context.
check() {
	wait_for a "F1 help" || return 1
	(cd "$d" && /usr/bin/python3 - "$d/screen" "$LMSCOPE" "$1" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, layer = sys.argv[2], sys.argv[3]
t = [i for i, l in enumerate(lines) if "MLP neurons L" in l][0]
m = re.search(r"MLP neurons L(\d+) at (\S+) \(#(\d+)\): most active", lines[t])
assert m and m.group(1) == layer, lines[t]
pos = int(m.group(3))
x = lines[t].index("MLP neurons")
shown = []
for l in lines[t + 1:t + 11]:
    r = re.match(r" N(\d+) +([-+][0-9.]+) ", l[x - 1:])
    assert r, l
    shown.append((int(r.group(1)), float(r.group(2))))
out = subprocess.run([lm, "neurons", "./m", "context.txt", "--layer", layer, "--top-neurons",
                      "100000", "--top", "1000", "--json"], check=True, capture_output=True,
                     text=True).stdout
act = {}
for n in json.loads(out)["neurons"]:
    at = [h["value"] for h in n["top"] if h["offset"] == pos]
    assert len(at) == 1, (n["neuron"], pos)
    act[n["neuron"]] = at[0]
for i, v in shown:
    assert abs(v - act[i]) <= 1.5e-4, (i, v, act[i])
# the ten shown are the ten most active (ties within the rounding aside)
rest = max(v for i, v in act.items() if i not in {j for j, _ in shown})
assert rest <= shown[-1][1] + 1.5e-4, (rest, shown)
assert [v for _, v in shown] == sorted((v for _, v in shown), reverse=True), shown
print("neurons: layer %s position %d: %d neurons checked" % (layer, pos, len(shown)))
PYEOF
	) && torch_check "$1"
}

# torch_check LAYER: the same neurons recomputed in PyTorch from the
# model's weights (GPT-2: LayerNorm, causal attention, the MLP's tanh GELU
# after c_fc is the activation), in float64, on the ids `lmscope tokenize` gives.
torch_check() {
	(cd "$d" && /usr/bin/python3 - "$d/screen" "$LMSCOPE" "$1" "$text" <<'PYEOF'
import json, math, re, struct, subprocess, sys
try:
    import torch
except ImportError:
    print("SKIP: the PyTorch check of the neurons: python3-torch missing")
    sys.exit(0)
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, layer, text = sys.argv[2], int(sys.argv[3]), sys.argv[4]
t = [i for i, l in enumerate(lines) if "MLP neurons L" in l][0]
pos = int(re.search(r"\(#(\d+)\)", lines[t]).group(1))
x0 = lines[t].index("MLP neurons")
shown = [re.match(r" N(\d+) +([-+][0-9.]+) ", l[x0 - 1:]).groups() for l in lines[t + 1:t + 11]]
ids = json.loads(subprocess.run([lm, "tokenize", "./m", "--text", text, "--json"], check=True,
                                capture_output=True, text=True).stdout)["ids"]
cfg = json.load(open("m/config.json"))
raw = open("m/model.safetensors", "rb").read()
hn = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + hn])
dt = {"F16": torch.float16, "F32": torch.float32, "BF16": torch.bfloat16}
def w(name):
    h = head[name]
    a, b = h["data_offsets"]
    buf = bytearray(raw[8 + hn + a:8 + hn + b])
    return torch.frombuffer(buf, dtype=dt[h["dtype"]]).reshape(h["shape"]).double()
C, NH, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
def ln(x, g, b):
    m = x.mean(-1, keepdim=True)
    return (x - m) / torch.sqrt(((x - m) ** 2).mean(-1, keepdim=True) + eps) * g + b
n, hs = len(ids), C // NH
x = w("wte.weight")[ids] + w("wpe.weight")[:n]
mask = torch.ones(n, n, dtype=torch.bool).tril()
for l in range(layer + 1):
    p = lambda k: w("h.%d.%s" % (l, k))
    a = ln(x, p("ln_1.weight"), p("ln_1.bias"))
    q, k, v = ((a @ p("attn.c_attn.weight") + p("attn.c_attn.bias")).split(C, dim=-1))
    q, k, v = (z.reshape(n, NH, hs).transpose(0, 1) for z in (q, k, v))
    att = torch.softmax((q @ k.transpose(1, 2) / math.sqrt(hs)).masked_fill(~mask, float("-inf")), -1)
    x = x + (att @ v).transpose(0, 1).reshape(n, C) @ p("attn.c_proj.weight") + p("attn.c_proj.bias")
    h = ln(x, p("ln_2.weight"), p("ln_2.bias")) @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias")
    f = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
    x = x + f @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias")
act = f[pos]
for i, val in shown:
    assert abs(float(val) - act[int(i)].item()) <= 2e-4, (i, val, act[int(i)].item())
rest = max(act[j].item() for j in range(act.numel()) if str(j) not in {i for i, _ in shown})
assert rest <= float(shown[-1][1]) + 2e-4, (rest, shown)
print("neurons: layer %d position %d: PyTorch agrees" % (layer, pos))
PYEOF
	)
}

# contexts LAYER: the open neuron's contexts against the neurons command's.
contexts() {
	(cd "$d" && /usr/bin/python3 - "$d/screen" "$LMSCOPE" "$1" <<'PYEOF'
import json, re, subprocess, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lm, layer = sys.argv[2], sys.argv[3]
t = [i for i, l in enumerate(lines) if "strongest corpus contexts" in l][0]
m = re.search(r"Neuron L(\d+)\.N(\d+): strongest", lines[t])
assert m and m.group(1) == layer, lines[t]
x = lines[t].index("Neuron L")
out = subprocess.run([lm, "neurons", "./m", "ncorpus.txt", "--layer", layer, "--neuron",
                      m.group(2), "--json"], check=True, capture_output=True, text=True).stdout
want = json.loads(out)["neurons"][0]["top"]
rows = [l[x - 1:] for l in lines[t + 1:t + 1 + len(want)]]
for row, w in zip(rows, want):
    r = re.match(r" *([-0-9.]+) @(\d+) +(.*\S)", row)
    assert r, row
    assert abs(float(r.group(1)) - w["value"]) <= 5.1e-5, (row, w)
    assert int(r.group(2)) == w["offset"], (row, w)
    shown = r.group(3)  # cut at the pane's edge when long
    assert w["context"].startswith(shown) and (shown == w["context"] or len(shown) >= 10), (row, w)
print("neurons: %d contexts of neuron %s checked" % (len(want), m.group(2)))
PYEOF
	)
}

start a 120 40 "./m --corpus ncorpus.txt"
wait_for a "F1 help" || fail "no first screen"
$T send-keys -t a -l "$text"
wait_for a "light" || fail "the typed context did not show"
$T send-keys -t a Tab N
wait_for a "MLP neurons L0 at light (#7): most active" || fail "N did not show the neurons of the last token"
check 0 || fail "the neurons at the last token differ from lmscope neurons"
# the context erased and typed again (the same tokens: no new forward)
$T send-keys -t a Escape C-u
wait_for a "tokens appear here" || fail "Ctrl-U did not empty the context"
$T send-keys -t a -l "$text"
wait_for a "MLP neurons L0 at light (#7): most active" || fail "the neurons did not come back with the context"
check 0 || fail "the neurons of the context typed again differ from lmscope neurons"
$T send-keys -t a Tab Tab Tab Tab
$T send-keys -t a Left Left
wait_for a "MLP neurons L0 at there (#5)" || fail "Left did not select the token two back"
check 0 || fail "the neurons two tokens back differ from lmscope neurons"
$T send-keys -t a ']'
wait_for a "MLP neurons L1 at there (#5)" || fail "] did not show the next layer"
check 1 || fail "the neurons of layer 1 differ from lmscope neurons"
# the export's JSON carries the same numbers
$T send-keys -t a e
wait_for a ".json follows" || fail "e did not export"
i=0; while [ ! -s "$d/lmscope-export-1.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
/usr/bin/python3 - "$d/lmscope-export-1.json" "$d/screen" <<'PYEOF' || fail "the export's neurons differ from the screen"
import json, re, sys
n = json.load(open(sys.argv[1]))["neurons"]
lines = open(sys.argv[2], encoding="utf-8").read().split("\n")
t = [i for i, l in enumerate(lines) if "MLP neurons L" in l][0]
x = lines[t].index("MLP neurons")
shown = [re.match(r" N(\d+) +([-+][0-9.]+) ", l[x - 1:]).groups() for l in lines[t + 1:t + 11]]
assert n["layer"] == 1 and n["position"] == 5, n
assert [int(i) for i, _ in shown] == [h["neuron"] for h in n["top"]], (shown, n)
for (i, v), h in zip(shown, n["top"]):
    assert abs(float(v) - h["activation"]) <= 5.1e-5, (v, h)
PYEOF

# no cache yet: the command that makes it, which is then run as shown
$T send-keys -t a Down Enter
wait_for a "lmscope neurons ./m ncorpus.txt --layer 1 --cache" || fail "no cache: the command is not named"
cmd=$(grep -o 'lmscope neurons ./m ncorpus.txt --layer 1 --cache' "$d/screen")
(cd "$d" && "$LMSCOPE" ${cmd#lmscope } > /dev/null) || fail "the command named failed"
ls "$d"/m.neurons-l1-k10-* > /dev/null 2>&1 || fail "the command named wrote no cache"
$T send-keys -t a Enter
wait_for a "MLP neurons L1" || fail "Enter did not go back to the neurons"
$T send-keys -t a Enter
settle a " @" || fail "Enter did not list the contexts from the cache"
contexts 1 || fail "the contexts differ from lmscope neurons --neuron N --json"
# layer 0 has no cache: r runs the pass on the engine thread and writes it
$T send-keys -t a '['
wait_for a "lmscope neurons ./m ncorpus.txt --layer 0 --cache" || fail "layer 0: no cache, yet no command named"
$T send-keys -t a r
settle a " @" || fail "r did not list the contexts"
contexts 0 || fail "the contexts of the pass run by r differ from lmscope neurons --neuron N --json"
ls "$d"/m.neurons-l0-k10-* > /dev/null 2>&1 || fail "r wrote no cache"
$T send-keys -t a Enter N
wait_for a "Logit lens" || fail "N did not bring the lens back"
$T send-keys -t a q
wait_for a "EXIT=0" || fail "the explorer did not quit cleanly"

# a recurrent model: one line says the pane does not apply
start r 120 30 "'$root/models/kjv-lstm' --text 'And God'"
wait_for r "F1 help" || fail "the LSTM did not open"
$T send-keys -t r Tab N
wait_for r "recurrent models have no MLP neurons" || fail "N on a recurrent model said nothing"
$T send-keys -t r q
wait_for r "EXIT=0" || fail "the explorer on the LSTM did not quit cleanly"

[ $fails = 0 ] && echo "neurons: all passed"
exit $((fails > 0))
