// Reads a GGUF file written by `lmscope convert` with Hugging Face's
// independent parser (@huggingface/gguf) and checks its metadata and tensor
// infos against what the test expects of the model gen.py's gguf() makes
// (C = H = 32, one layer, two heads, V = 11, context 16).
//   node gguf_npm.mjs PACKAGE_DIR FILE TYPE FILE_SIZE
const [pkg, file, type, size] = process.argv.slice(2);
const { gguf } = await import(pkg + "/dist/index.mjs");
const r = await gguf(file, { allowLocalFile: true });
const md = r.metadata;
const fail = [];
const want = (ok, what) => { if (!ok) fail.push(what); };
want(r.littleEndian && md.version === 3, "version 3, little-endian");
const keys = {
  "general.architecture": "llama", "llama.context_length": 16, "llama.embedding_length": 32,
  "llama.block_count": 1, "llama.feed_forward_length": 32, "llama.attention.head_count": 2,
  "llama.attention.head_count_kv": 2, "llama.rope.dimension_count": 16, "llama.vocab_size": 11,
  "llama.rope.freq_base": 10000,
};
for (const [k, v] of Object.entries(keys)) want(md[k] === v, `${k} = ${md[k]}, want ${v}`);
want(Math.abs(md["llama.attention.layer_norm_rms_epsilon"] - 1e-5) < 1e-9, "rms epsilon");
const ggml = { F32: 0, F16: 1, Q8_0: 8, Q4_0: 2 };
const bytes = { 0: [1, 4], 1: [1, 2], 8: [32, 34], 2: [32, 18] };
const shapes = {
  "token_embd.weight": [32, 11], "output_norm.weight": [32], "blk.0.attn_norm.weight": [32],
  "blk.0.attn_q.weight": [32, 32], "blk.0.attn_k.weight": [32, 32], "blk.0.attn_v.weight": [32, 32],
  "blk.0.attn_output.weight": [32, 32], "blk.0.ffn_norm.weight": [32],
  "blk.0.ffn_gate.weight": [32, 32], "blk.0.ffn_up.weight": [32, 32], "blk.0.ffn_down.weight": [32, 32],
};
want(Number(md.tensor_count) === 11 && r.tensorInfos.length === 11, "11 tensors");
let end = 0n;
const seen = new Set();
for (const t of r.tensorInfos) {
  const shape = shapes[t.name];
  want(shape !== undefined && !seen.has(t.name), `unexpected or repeated tensor ${t.name}`);
  seen.add(t.name);
  if (!shape) continue;
  want(JSON.stringify(t.shape.map(Number)) === JSON.stringify(shape), `${t.name} shape ${t.shape}`);
  const dt = shape.length === 1 ? 0 : ggml[type];
  want(t.dtype === dt, `${t.name} dtype ${t.dtype}, want ${dt}`);
  want(t.offset % 32n === 0n, `${t.name} offset ${t.offset} not aligned`);
  const [blk, nb] = bytes[t.dtype] ?? [1, 0];
  const n = BigInt(shape.reduce((a, b) => a * b, 1));
  const e = t.offset + (n / BigInt(blk)) * BigInt(nb);
  if (e > end) end = e;
}
want(r.tensorDataOffset % 32n === 0n, "data section aligned");
want(r.tensorDataOffset + end <= BigInt(size), `tensors end at ${r.tensorDataOffset + end}, file is ${size}`);
want(r.tensorDataOffset + end + 32n > BigInt(size), "file longer than its tensors");
if (fail.length) { console.log(`${type}: ` + fail.join("; ")); process.exit(1); }
console.log(`${type}: @huggingface/gguf reads the metadata and ${r.tensorInfos.length} tensor infos as written`);
