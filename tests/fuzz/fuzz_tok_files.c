/* Fuzz target: loading a tokenizer directory — tokenizer_config.json,
 * vocab.json and merges.txt (word, character and GPT-2 BPE). The input is
 * the three files' texts separated by NUL bytes, in that order; an empty
 * part leaves its file out (seeds: files written by `lmscope tokenizer
 * train`). What loads must encode a fixed text within its
 * vocabulary (and BPE must round-trip it). */
#include <string.h>
#include <unistd.h>

#include "fuzz_tok.h"

static const char *const names[] = {"tokenizer_config.json", "vocab.json", "merges.txt"};
static const char text[] =
	"In the beginning, caf\xc3\xa9 don't \xe6\x97\xa5\xe6\x9c\xac  \n\t<unk> \xff\x00 end";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	for (int i = 0; i < 3; i++) {
		const uint8_t *nul = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;
		const uint8_t *stop = nul ? nul : end;
		if (stop > p)
			fuzz_write(names[i], p, (size_t)(stop - p));
		else
			unlink(fuzz_path(names[i]));
		p = nul ? nul + 1 : end;
	}
	struct lms_tokenizer *tok = NULL;
	enum lms_status st = lms_tokenizer_load(fuzz_dir(), &tok);
	if (st != LMS_OK) {
		if (tok || !*lms_errmsg())
			fuzz_die("a failure left a tokenizer or no message");
		return 0;
	}
	if (tok) {
		fuzz_encode(tok, (const uint8_t *)text, sizeof text - 1,
		            lms_tokenizer_kind(tok) == LMS_TOK_BPE);
		lms_tokenizer_free(tok);
	}
	return 0;
}
