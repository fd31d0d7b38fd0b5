/* Fuzz target: learning a tokenizer from a corpus (`lmscope tokenizer
 * train`, and `lmscope train` before it reads the corpus). The first input
 * byte picks the kind (word, char, BPE), the vocabulary size, lower-casing
 * and <bos>/<eos>; the rest is the corpus, NUL bytes separating texts. What
 * is learnt must encode the corpus within its vocabulary, and a BPE must
 * give the bytes back exactly. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum lms_tok_kind kinds[] = {LMS_TOK_WORD, LMS_TOK_CHAR, LMS_TOK_BPE};
	struct lms_tok_train_opts o = {
		.kind = kinds[(data[0] & 3) % 3],
		.min_count = 1 + (data[0] >> 7),
		.lowercase = (data[0] >> 2) & 1,
		.bos_eos = (data[0] >> 3) & 1,
	};
	o.vocab_size = (o.kind == LMS_TOK_BPE ? 256 : 1) + ((data[0] >> 4) & 7) * 16;
	if (o.kind == LMS_TOK_BPE)
		o.lowercase = o.bos_eos = 0;
	const char *texts[64];
	size_t lens[64];
	int n = 0;
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	while (n < 64) {
		const char *nul = memchr(p, 0, (size_t)(end - p));
		const char *stop = nul ? nul : end;
		texts[n] = p;
		lens[n++] = (size_t)(stop - p);
		if (!nul)
			break;
		p = nul + 1;
	}
	struct lms_tokenizer *tok = NULL;
	enum lms_status st = lms_tokenizer_train(&o, texts, lens, n, &tok);
	if (st != LMS_OK) {
		if (tok || !*lms_errmsg())
			fuzz_die("a failure left a tokenizer or no message");
		return 0;
	}
	if (!tok)
		fuzz_die("LMS_OK without a tokenizer");
	if (lms_tokenizer_vocab_size(tok) > o.vocab_size)
		fuzz_die("the vocabulary is larger than asked");
	for (int i = 0; i < n; i++)
		fuzz_encode(tok, (const uint8_t *)texts[i], lens[i], o.kind == LMS_TOK_BPE);
	lms_tokenizer_free(tok);
	return 0;
}
