/* `build/bench tokenizer CORPUS`: encoding speed of each tokenizer on one
 * thread, in MB/s and tokens/s (best of several runs), and the time to train
 * each kind on the corpus. GPT-2's own files come from ../shared; the
 * word-level (the default models' kind), character-level and a small BPE are
 * trained on the corpus first. Times are this thread's CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "lmscope/dataset.h"
#include "lmscope/tokenizer.h"

static void time_encode(const char *name, const struct lms_tokenizer *tok, const char *text,
                        size_t len)
{
	double best = 1e30;
	size_t n = 0;
	for (int r = 0; r < 3; r++) {
		int *ids;
		double t0 = bench_thread_cpu();
		if (lms_tokenizer_encode(tok, text, len, &ids, &n, NULL, NULL)) {
			fprintf(stderr, "bench: %s: %s\n", name, lms_errmsg());
			return;
		}
		double t = bench_thread_cpu() - t0;
		free(ids);
		if (t < best)
			best = t;
	}
	char key[96];
	snprintf(key, sizeof key, "tokenizer_%s_encode", name);
	bench_result(key, (double)len / 1e6 / best, "MB/s");
	snprintf(key, sizeof key, "tokenizer_%s_tokens", name);
	bench_result(key, (double)n / best, "tokens/s");
}

static struct lms_tokenizer *time_train(const char *name, struct lms_tok_train_opts o,
                                        const char *text, size_t len)
{
	struct lms_tokenizer *tok;
	double t0 = bench_thread_cpu();
	if (lms_tokenizer_train(&o, &text, &len, 1, &tok)) {
		fprintf(stderr, "bench: training %s: %s\n", name, lms_errmsg());
		return NULL;
	}
	char key[96];
	snprintf(key, sizeof key, "tokenizer_%s_train", name);
	bench_result(key, (bench_thread_cpu() - t0) * 1e3, "ms");
	return tok;
}

int bench_tokenizer(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "corpora/kjv.txt";
	size_t len;
	char *text;
	if (lms_read_file(path, &text, &len)) {
		fprintf(stderr, "bench: %s (make corpora)\n", lms_errmsg());
		return 1;
	}
	bench_result("tokenizer_corpus_size", (double)len / 1e6, "MB");
	struct lms_tokenizer *gpt2;
	if (lms_tokenizer_load("../shared/tokenizers/gpt2", &gpt2) || !gpt2) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
	} else {
		time_encode("gpt2_bpe", gpt2, text, len);
		lms_tokenizer_free(gpt2);
	}
	struct {
		const char *name;
		struct lms_tok_train_opts o;
	} kinds[] = {
		{"word", {LMS_TOK_WORD, 8192, 1, 1, NULL, 1}},
		{"char", {LMS_TOK_CHAR, 256, 1, 0, NULL, 1}},
		{"bpe1024", {LMS_TOK_BPE, 1024, 1, 0, NULL, 0}},
	};
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		struct lms_tokenizer *tok = time_train(kinds[k].name, kinds[k].o, text, len);
		if (tok)
			time_encode(kinds[k].name, tok, text, len);
		lms_tokenizer_free(tok);
	}
	free(text);
	return 0;
}
