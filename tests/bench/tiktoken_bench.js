// tiktoken (OpenAI's tokenizer, npm WASM build) on the same corpus as
// `build/bench tokenizer`: GPT-2 encoding speed on one thread, printed as
// RESULT lines for tests/bench/report.py. Times are the process's CPU time
// (the WASM encoder runs on one thread), as lmscope's are its thread's. With
// a third argument (lmscope's `tokenize --json` output for the corpus) it
// also checks that the ids are the same.
// usage: node tiktoken_bench.js NODE_MODULES_DIR CORPUS [LMSCOPE_JSON]
const fs = require("fs");
const path = require("path");
const { get_encoding } = require(path.resolve(process.argv[2], "tiktoken"));
const text = fs.readFileSync(process.argv[3], "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const enc = get_encoding("gpt2");
let best = Infinity, ids = null;
for (let r = 0; r < 3; r++) {
  const t0 = process.cpuUsage();
  ids = enc.encode_ordinary(text);
  const used = process.cpuUsage(t0);
  const t = (used.user + used.system) / 1e6;
  if (t < best) best = t;
}
console.log(`RESULT tokenizer_gpt2_bpe_encode ${(bytes / 1e6 / best).toPrecision(6)} MB/s`);
console.log(`RESULT tokenizer_gpt2_bpe_tokens ${(ids.length / best).toPrecision(6)} tokens/s`);
if (process.argv[4]) {
  const mine = JSON.parse(fs.readFileSync(process.argv[4], "utf8")).ids;
  let same = mine.length === ids.length;
  for (let i = 0; same && i < ids.length; i++) same = mine[i] === ids[i];
  console.error(`tiktoken and lmscope ids on the corpus (${ids.length} tokens): ${same ? "identical" : "DIFFERENT"}`);
  if (!same) process.exitCode = 1;
}
enc.free();
