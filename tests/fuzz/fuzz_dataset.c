/* Fuzz target: the training-corpus reader (lms_dataset_load) with a
 * word-level tokenizer. The first input byte picks the validation fraction
 * and whether the corpus is split into two files; the rest is the corpus.
 * A loaded dataset must hold ids inside the vocabulary, and a batcher over
 * it must give chunks of the stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/dataset.h"
#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lms_tokenizer *tok;
	if (!tok)
		tok = fuzz_trained(LMS_TOK_WORD);
	if (size < 1)
		return 0;
	double frac = (data[0] & 0x7f) / 128.0;
	int two = data[0] >> 7;
	data++;
	size--;
	size_t cut = two ? size / 2 : size;
	const char *files[2];
	char p0[512];
	snprintf(p0, sizeof p0, "%s", fuzz_write("corpus0.txt", data, cut));
	files[0] = p0;
	files[1] = fuzz_write("corpus1.txt", data + cut, size - cut);
	struct lms_dataset ds;
	memset(&ds, 0, sizeof ds);
	enum lms_status st = lms_dataset_load(&ds, tok, files, 1 + two, NULL, 0, frac);
	if (st != LMS_OK) {
		if (!*lms_errmsg())
			fuzz_die("a failure without a message");
		lms_dataset_free(&ds);
		return 0;
	}
	int V = lms_tokenizer_vocab_size(tok);
	for (size_t i = 0; i < ds.n_train; i++)
		if (ds.train[i] < 0 || ds.train[i] >= V)
			fuzz_die("a training id outside the vocabulary");
	for (size_t i = 0; i < ds.n_valid; i++)
		if (ds.valid[i] < 0 || ds.valid[i] >= V)
			fuzz_die("a validation id outside the vocabulary");
	int T = 4, B = 3;
	struct lms_batcher b;
	if (ds.n_train >= (size_t)T + 1 && lms_batcher_new(&b, ds.train, ds.n_train, T, 7) == LMS_OK) {
		int x[12], y[12];
		for (int k = 0; k < 3; k++) {
			lms_batcher_next(&b, B, x, y);
			for (int i = 0; i < B * T; i++)
				if (i % T < T - 1 && y[i] != x[i + 1])
					fuzz_die("a target is not the next input");
		}
		lms_batcher_free(&b);
	}
	lms_dataset_free(&ds);
	return 0;
}
