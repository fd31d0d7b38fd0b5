"""GPT-2 byte-level BPE: lmscope's ids against an independent reference.

The reference below is a plain re-statement of OpenAI's GPT-2 encoder
(bytes_to_unicode, the pre-tokenization pattern through the Python `regex`
module, merges by rank applied to the pair of lowest rank until none is
left). It encodes a text of hand-picked hard cases and of random strings over
a Unicode-rich alphabet; lmscope must give exactly the same ids.

usage: gpt2_check.py LMSCOPE  (cwd = project root; reads ../shared/tokenizers/gpt2)"""
import json
import os
import random
import subprocess
import sys
import tempfile

import regex

GPT2 = "../shared/tokenizers/gpt2"
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


class Reference:
    def __init__(self):
        with open(os.path.join(GPT2, "encoder.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(GPT2, "vocab.bpe"), encoding="utf-8") as f:
            lines = f.read().split("\n")[1:]
        self.ranks = {tuple(l.split()): i for i, l in enumerate(l for l in lines if l)}
        self.byte_char = bytes_to_unicode()
        self.pat = regex.compile(PATTERN)
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((parts[i], parts[i + 1]), None), i) for i in range(len(parts) - 1)]
            ranked = [p for p in pairs if p[0] is not None]
            if not ranked:
                break
            best = min(ranked)[0]
            a, b = self.pair_of(best)
            out, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            parts = out
        self.cache[word] = parts
        return parts

    def pair_of(self, rank):
        if not hasattr(self, "_by_rank"):
            self._by_rank = {v: k for k, v in self.ranks.items()}
        return self._by_rank[rank]

    def encode(self, text):
        ids = []
        for piece in self.pat.findall(text):
            word = "".join(self.byte_char[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(word))
        return ids


HARD = [
    "Hello world", "I'm sure they'll say we'd've done it; it's John's, isn't it? You're right, I've", 
    "'S 'T 'RE 'Ll (caps are not contractions)", "don't   stop\n\n\nnow\t\ttabs \t mixed \r\n lines",
    "trailing spaces   ", "   leading spaces", " \n \n", "\u00a0non\u00a0breaking\u00a0\u00a0spaces \u00a0",
    "numbers 1234567890 3.14159 1,000,000 -42 +7 1e10 0x1F", "\u0661\u0662\u0663 Arabic-Indic digits, \u2167 roman",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m Stra\u00dfe \u0141\u00f3d\u017a", "cafe\u0301 (combining acute)",
    "\u4eca\u65e5\u306f\u4e16\u754c \u4f60\u597d\uff0c\u4e16\u754c\uff01 \ud55c\uad6d\uc5b4", "emoji \U0001f600\U0001f44d\U0001f3fd \U0001f1eb\U0001f1f7 \u2764\ufe0f family \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "<|endoftext|> is plain text here", "symbols !!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((( ))) ___",
    "mixed123abc abc123 123abc", "\u2028line separator\u2029paragraph", "zero\u200bwidth\u200djoiner",
    "\u3000ideographic space\u3000", "\u0000nul\u0001control\u007f", "Ελληνικά Русский язык עברית العربية हिन्दी",
    "x" * 300, "ab" * 200 + " " + "\U0001f600" * 50, "\t" * 20 + "end", " " * 37 + "x",
]


def random_text(rng, n):
    alphabet = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") +
                list(" " * 20) + list("\n\t\r'.,;:!?-\"()[]{}") + ["\u00a0", "\u3000", "\u2009"] +
                list("\u00e9\u00fc\u00df\u00c5\u0142\u0301\u0308") + list("\u4e16\u754c\u4f60\u597d\u3042\u30a2\ud55c") +
                ["\U0001f600", "\U0001f44d", "\u2764", "\ufe0f", "\u200d"] + list("\u0661\u0662\u2167\u00bd\u00b2"))
    words = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", " the", " of", "ing"]
    out = []
    while len(out) < n:
        if rng.random() < 0.2:
            out.append(rng.choice(words))
        else:
            out.append(rng.choice(alphabet))
    return "".join(out)


def main():
    lmscope = sys.argv[1] if len(sys.argv) > 1 else "./lmscope"
    ref = Reference()
    rng = random.Random(1234)
    cases = HARD + [random_text(rng, rng.randint(1, 200)) for _ in range(300)]
    # One text per case, each on its own so a failure names its case.
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.txt")
        # Encode all cases in one run: joined by a separator that always
        # splits the same way ("\n\n\n" followed by a letter).
        sep = "\n\n\nX"
        whole = sep.join(cases)
        with open(path, "wb") as f:
            f.write(whole.encode("utf-8"))
        got = json.loads(subprocess.run([lmscope, "tokenize", GPT2, path, "--json"], check=True,
                                        capture_output=True).stdout)["ids"]
        want = ref.encode(whole)
        if got != want:
            # Find the first case that differs.
            for i, c in enumerate(cases):
                with open(path, "wb") as f:
                    f.write(c.encode("utf-8"))
                g = json.loads(subprocess.run([lmscope, "tokenize", GPT2, path, "--json"], check=True,
                                              capture_output=True).stdout)["ids"]
                w = ref.encode(c)
                if g != w:
                    failed += 1
                    print(f"case {i} {c!r}:\n  lmscope   {g}\n  reference {w}")
                    if failed > 5:
                        break
            if not failed:
                print("the joined text differs but no single case does")
                failed = 1
    known = {"Hello world": [15496, 995], " Hello": [18435], "<|endoftext|>": [27, 91, 437, 1659, 5239, 91, 29]}
    for text, ids in known.items():
        g = json.loads(subprocess.run([lmscope, "tokenize", GPT2, "--text", text, "--json"], check=True,
                                      capture_output=True).stdout)["ids"]
        if g != ids or ref.encode(text) != ids:
            print(f"known encoding of {text!r}: lmscope {g}, reference {ref.encode(text)}, expected {ids}")
            failed += 1
    print(f"{len(cases)} cases ({len(whole)} characters), {len(known)} known encodings: "
          f"{'all equal' if not failed else f'{failed} differ'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
