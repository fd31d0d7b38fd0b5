/* `lmscope tokenizer train (--bpe | --word | --char) --vocab-size N
 * [--min-count K] [--lowercase] [--pattern P] [--bos-eos] CORPUS... -o DIR`:
 * learns a tokenizer from text files and writes its files into DIR. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lmscope/dataset.h"

static const char usage_text[] =
	"usage: lmscope tokenizer train (--bpe | --word | --char) --vocab-size N\n"
	"                               [--min-count K] [--lowercase] [--pattern P] [--bos-eos]\n"
	"                               CORPUS... -o DIR\n"
	"  --bpe          GPT-2 byte-level BPE: writes vocab.json + merges.txt\n"
	"  --word         words by a PCRE2 pattern: writes tokenizer_config.json + vocab.json\n"
	"  --char         Unicode code points: writes tokenizer_config.json + vocab.json\n"
	"  --vocab-size N the largest vocabulary, special tokens included (BPE: >= 256)\n"
	"  --min-count K  word, char: keep what occurs at least K times (default 1)\n"
	"  --lowercase    word, char: lower-case the text first\n"
	"  --pattern P    word: the pre-tokenization pattern (default: words, and each\n"
	"                 other non-space character)\n"
	"  --bos-eos      word, char: add <bos> and <eos> after <unk>\n";

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > 100000000)
		return 0;
	*out = (int)v;
	return 1;
}

static int train(int argc, char **argv)
{
	struct lms_tok_train_opts o = {.kind = LMS_TOK_BPE, .vocab_size = 0, .min_count = 1};
	int kinds = 0;
	const char *dir = NULL;
	const char **corpora = calloc((size_t)argc, sizeof *corpora);
	int n = 0;
	if (!corpora)
		return front_fail(lms_fail(LMS_ENOMEM, "out of memory"));
	int rc = -1;
	for (int i = 1; i < argc && rc < 0; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			rc = LMS_EXIT_OK;
		} else if (!strcmp(a, "--bpe") || !strcmp(a, "--word") || !strcmp(a, "--char")) {
			o.kind = a[2] == 'b' ? LMS_TOK_BPE : a[2] == 'w' ? LMS_TOK_WORD : LMS_TOK_CHAR;
			kinds++;
		} else if (!strcmp(a, "--lowercase")) {
			o.lowercase = 1;
		} else if (!strcmp(a, "--bos-eos")) {
			o.bos_eos = 1;
		} else if (!strcmp(a, "--vocab-size") || !strcmp(a, "--min-count")) {
			int *dst = a[2] == 'v' ? &o.vocab_size : &o.min_count;
			if (!val || !parse_int(val, dst) || *dst < 1)
				rc = front_usage("%s wants a positive number", a);
			i++;
		} else if (!strcmp(a, "--pattern")) {
			if (!val)
				rc = front_usage("--pattern wants a pattern");
			o.pattern = val;
			i++;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (!val)
				rc = front_usage("%s wants a directory", a);
			dir = val;
			i++;
		} else if (a[0] == '-' && a[1]) {
			rc = front_usage("tokenizer train: unknown option %s", a);
		} else {
			corpora[n++] = a;
		}
	}
	if (rc < 0 && kinds != 1)
		rc = front_usage("tokenizer train: give one of --bpe, --word, --char");
	if (rc < 0 && (!o.vocab_size || !n || !dir))
		rc = front_usage("tokenizer train: give --vocab-size N, a corpus and -o DIR (see --help)");
	if (rc < 0 && o.kind == LMS_TOK_BPE && (o.lowercase || o.pattern || o.bos_eos))
		rc = front_usage("tokenizer train: --lowercase, --pattern, --bos-eos are for --word, --char");
	if (rc >= 0) {
		free(corpora);
		return rc;
	}
	char **texts = calloc((size_t)n, sizeof *texts);
	size_t *lens = calloc((size_t)n, sizeof *lens);
	rc = texts && lens ? LMS_EXIT_OK : LMS_EXIT_NOMEM;
	for (int i = 0; i < n && rc == LMS_EXIT_OK; i++) {
		enum lms_status st = lms_read_file(corpora[i], &texts[i], &lens[i]);
		if (st)
			rc = front_fail(st);
	}
	struct lms_tokenizer *tok = NULL;
	if (rc == LMS_EXIT_OK) {
		enum lms_status st = lms_tokenizer_train(&o, (const char *const *)texts, lens, n, &tok);
		if (!st)
			st = lms_tokenizer_save(tok, dir);
		if (st)
			rc = front_fail(st);
	}
	if (rc == LMS_EXIT_OK)
		printf("%s: %s tokenizer, %d tokens\n", dir,
		       o.kind == LMS_TOK_BPE ? "byte-level BPE" : o.kind == LMS_TOK_WORD ? "word-level" : "character-level",
		       lms_tokenizer_vocab_size(tok));
	lms_tokenizer_free(tok);
	for (int i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	free(corpora);
	return rc;
}

int lms_cmd_tokenizer(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "train"))
		return train(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return LMS_EXIT_OK;
	}
	return front_usage("tokenizer: the only subcommand is train (see lmscope tokenizer train --help)");
}
