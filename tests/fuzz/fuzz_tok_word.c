/* Fuzz target: the word-level tokenizer's encoder and decoder on any bytes
 * (invalid UTF-8, NULs, long runs), with a vocabulary trained at start-up. */
#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lms_tokenizer *tok;
	if (!tok)
		tok = fuzz_trained(LMS_TOK_WORD);
	fuzz_encode(tok, data, size, 0);
	return 0;
}
