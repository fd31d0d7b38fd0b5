/* Fuzz target: llama2.c's sentencepiece-style encoder with the real Llama 2
 * tokenizer (../shared/tokenizers/llama2/tokenizer.bin, relative to the
 * project root): byte fallback, the leading space, merges by score. */
#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lms_tokenizer *tok;
	if (!tok)
		tok = fuzz_loaded("../shared/tokenizers/llama2/tokenizer.bin");
	fuzz_encode(tok, data, size, 0);
	return 0;
}
