// Reference ids from Hugging Face's own JavaScript tokenizers
// (@huggingface/tokenizers), for tests/cli/tokenizer_json.sh.
//
// usage: node hf_reference.mjs NODE_MODULES TEXTS.json DIR...
// Prints one JSON object: {"DIR": {"texts": [{"text", "ids", "ids_input",
// "decoded"}], "bytes": [256 ids]}} where ids is the text without special
// tokens added, ids_input with them (add_special_tokens: true, i.e. BOS
// where the tokenizer adds it), decoded is decode(ids) and bytes[b] is the
// token of byte b's GPT-2 character (byte-level tokenizers) or of <0xXX>.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, textsPath, ...dirs] = process.argv.slice(2);
const { Tokenizer } = await import(
  pathToFileURL(join(modules, "@huggingface/tokenizers/dist/tokenizers.mjs")).href);
const texts = JSON.parse(readFileSync(textsPath, "utf8"));

// GPT-2's bytes_to_unicode.
function byteChars() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const out = new Array(256);
  bs.forEach((b, i) => { out[b] = String.fromCodePoint(cs[i]); });
  return out;
}

const chars = byteChars();
const out = {};
for (const dir of dirs) {
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  const tok = new Tokenizer(json, config);
  const cases = texts.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const ids_input = tok.encode(text, { add_special_tokens: true }).ids;
    // clean_up_tokenization_spaces (transformers' removal of the space before
    // punctuation, on in GPT-2's config) is no part of the tokenizer's
    // decoder; lmscope's decoding gives back the text
    const decoded = ids.length ? tok.decode(ids, { clean_up_tokenization_spaces: false }) : "";
    return { text, ids, ids_input, decoded };
  });
  const bytes = chars.map((c, b) => {
    const hex = "<0x" + b.toString(16).toUpperCase().padStart(2, "0") + ">";
    const id = tok.token_to_id(c);
    return id !== undefined && id !== null ? id : (tok.token_to_id(hex) ?? -1);
  });
  out[dir] = { texts: cases, bytes };
}
process.stdout.write(JSON.stringify(out));
