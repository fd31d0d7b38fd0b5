/* Fuzz target: GPT-2's byte-level BPE with GPT-2's real files
 * (../shared/tokenizers/gpt2, relative to the project root). Any bytes must
 * round-trip exactly: decode(encode(s)) == s. */
#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lms_tokenizer *tok;
	if (!tok)
		tok = fuzz_loaded("../shared/tokenizers/gpt2");
	fuzz_encode(tok, data, size, 1);
	return 0;
}
