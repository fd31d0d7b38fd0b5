/* Fuzz target: llama2.c's tokenizer.bin loader, and encoding a fixed text
 * with whatever it accepts (its pieces and scores are the fuzzed part). */
#include <stdlib.h>
#include <string.h>

#include "lmscope/llama2c.h"
#include "fuzz.h"

static const char text[] =
	"Once upon a time, \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xff<0x41> ";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lms_tokenizer *tok = NULL;
	enum lms_status st = lms_llama2c_tokenizer_load(fuzz_write("tokenizer.bin", data, size), &tok);
	if (st != LMS_OK) {
		if (tok || !*lms_errmsg())
			fuzz_die("a failure left a tokenizer or no message");
		return 0;
	}
	if (!tok)
		fuzz_die("LMS_OK without a tokenizer");
	int *ids = NULL;
	size_t n = 0, *offsets = NULL;
	if (lms_tokenizer_encode(tok, text, sizeof text - 1, &ids, &n, &offsets, NULL) == LMS_OK) {
		int V = lms_tokenizer_vocab_size(tok);
		for (size_t i = 0; i < n; i++) {
			if (ids[i] < 0 || ids[i] >= V)
				fuzz_die("an id outside the vocabulary");
			(void)strlen(lms_tokenizer_piece(tok, ids[i]));
		}
		char *back = NULL;
		size_t blen;
		if (lms_tokenizer_decode(tok, ids, n, &back, &blen) == LMS_OK)
			free(back);
	}
	free(ids);
	free(offsets);
	lms_tokenizer_free(tok);
	return 0;
}
