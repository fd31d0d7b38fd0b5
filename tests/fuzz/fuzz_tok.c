/* Shared checks of the tokenizer encoder targets (see fuzz_tok.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lmscope/llama2c.h"
#include "fuzz_tok.h"

void fuzz_encode(const struct lms_tokenizer *tok, const uint8_t *data, size_t size, int exact)
{
	int *ids = NULL;
	size_t n = 0, *off = NULL;
	struct lms_tok_stats stats = {0, 0};
	enum lms_status st =
		lms_tokenizer_encode(tok, (const char *)data, size, &ids, &n, &off, &stats);
	if (st != LMS_OK) {
		/* only running out of memory may fail: any bytes are valid text */
		if (st != LMS_ENOMEM)
			fuzz_die(lms_errmsg());
		return;
	}
	int V = lms_tokenizer_vocab_size(tok);
	if (off[n] != size)
		fuzz_die("offsets[n] is not the input length");
	for (size_t i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= V)
			fuzz_die("an id outside the vocabulary");
		if (off[i] > off[i + 1])
			fuzz_die("token offsets go backwards");
		(void)strlen(lms_tokenizer_piece(tok, ids[i]));
	}
	char *back = NULL;
	size_t blen = 0;
	st = lms_tokenizer_decode(tok, ids, n, &back, &blen);
	if (st != LMS_OK && st != LMS_ENOMEM)
		fuzz_die(lms_errmsg());
	if (st == LMS_OK && exact && (blen != size || memcmp(back, data, size) != 0))
		fuzz_die("decode(encode(s)) differs from s");
	free(back);
	free(ids);
	free(off);
}

static const char *corpus[] = {
	"In the beginning God created the heaven and the earth.",
	"And the earth was without form, and void; and darkness was upon the face of the deep.",
	"The LORD's word: \"don't fear\" \xe2\x80\x94 caf\xc3\xa9, na\xc3\xafve, "
	"\xe6\x97\xa5\xe6\x9c\xac 42!",
};

struct lms_tokenizer *fuzz_trained(enum lms_tok_kind kind)
{
	struct lms_tok_train_opts o = {kind, 64, 1, kind == LMS_TOK_WORD, NULL, 1};
	size_t lens[3];
	for (int i = 0; i < 3; i++)
		lens[i] = strlen(corpus[i]);
	struct lms_tokenizer *tok = NULL;
	if (lms_tokenizer_train(&o, corpus, lens, 3, &tok) != LMS_OK || !tok)
		fuzz_die(lms_errmsg());
	return tok;
}

struct lms_tokenizer *fuzz_loaded(const char *path)
{
	struct stat sb;
	struct lms_tokenizer *tok = NULL;
	enum lms_status st = stat(path, &sb) == 0 && S_ISREG(sb.st_mode)
	                         ? lms_llama2c_tokenizer_load(path, &tok)
	                         : lms_tokenizer_load(path, &tok);
	if (st != LMS_OK || !tok) {
		fprintf(stderr, "fuzz: %s: %s (run from the project root)\n", path, lms_errmsg());
		abort();
	}
	return tok;
}
