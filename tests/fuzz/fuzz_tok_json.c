/* Fuzz target: a Hugging Face tokenizer.json, then encoding with it. The
 * input is the file's text, a NUL byte, and a text to encode (seeds:
 * hand-made byte-level, Llama 2 style and Metaspace files, written by
 * tests/fuzz/seeds_tok_json.py). A file that loads must encode the text
 * (any bytes) within its vocabulary with rising offsets and decode it;
 * byte-level files without normalizers must give back the exact bytes. */
#include <string.h>

#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t json_n = nul ? (size_t)(nul - data) : size;
	fuzz_write("tokenizer.json", data, json_n);
	struct lms_tokenizer *tok = NULL;
	enum lms_status st = lms_tokenizer_load(fuzz_dir(), &tok);
	if (st != LMS_OK) {
		if (tok || !*lms_errmsg())
			fuzz_die("a failure left a tokenizer or no message");
		return 0;
	}
	if (!tok)
		fuzz_die("tokenizer.json loaded as no tokenizer");
	const uint8_t *text = nul ? nul + 1 : data + size;
	/* exact round trips are the byte-level files' promise, and only
	 * without normalizers or added tokens; the fuzzer's files may have
	 * either, so only the general checks apply here */
	fuzz_encode(tok, text, (size_t)(data + size - text), 0);
	lms_tokenizer_free(tok);
	return 0;
}
