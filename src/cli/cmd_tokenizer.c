/* `lmscope tokenizer train (--bpe | --word | --char) --vocab-size N
 * [--min-count K] [--lowercase] [--pattern P] [--bos-eos] CORPUS... -o DIR`:
 * learns a tokenizer from text files and writes its files into DIR. */
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "cli.h"
#include "lmscope/dataset.h"
#include "lmscope/stage.h"

struct tokenizer_opts {
	int bpe, word, chars, vocab_size, min_count, lowercase, bos_eos, force;
	const char *pattern, *out;
};

static const struct front_opt tokenizer_train_options[] = {
	FRONT_FLAG("bpe", 0, N_("GPT-2 byte-level BPE: writes vocab.json + merges.txt"),
               struct tokenizer_opts, bpe, 1),
	FRONT_FLAG("word", 0, N_("words by a PCRE2 pattern: writes tokenizer_config.json + vocab.json"),
               struct tokenizer_opts, word, 1),
	FRONT_FLAG("char", 0, N_("Unicode code points: writes tokenizer_config.json + vocab.json"),
               struct tokenizer_opts, chars, 1),
	FRONT_INT("vocab-size", 0, "N",
              N_("the largest vocabulary, special tokens included (BPE: >= 256)"),
              struct tokenizer_opts, vocab_size, 1, 100000000),
	FRONT_INT("min-count", 0, "K", N_("word, char: keep what occurs at least K times (default 1)"),
              struct tokenizer_opts, min_count, 1, 100000000),
	FRONT_FLAG("lowercase", 0, N_("word, char: lower-case the text first"), struct tokenizer_opts,
               lowercase, 1),
	FRONT_STR("pattern", 0, "P",
              N_("word: the pre-tokenization pattern (default: words, and each\n"
                 "other non-space character)"),
              struct tokenizer_opts, pattern),
	FRONT_FLAG("bos-eos", 0, N_("word, char: add <bos> and <eos> after <unk>"),
               struct tokenizer_opts, bos_eos, 1),
	FRONT_STR("output", 'o', "DIR", N_("the directory to write the tokenizer's files into"),
              struct tokenizer_opts, out),
	FRONT_FLAG("force", 0, N_("replace what DIR holds (a model, another tokenizer)"),
               struct tokenizer_opts, force, 1),
	FRONT_END};

static const char usage_text[] =
	N_("usage: lmscope tokenizer train (--bpe | --word | --char) --vocab-size N\n"
       "                               [--min-count K] [--lowercase] [--pattern P] [--bos-eos]\n"
       "                               CORPUS... -o DIR [--force]\n");

static const struct front_cmd train_cmd = {
	"tokenizer train", usage_text, NULL, {{tokenizer_train_options, NULL}}, 0, NULL};

static int train(int argc, char **argv)
{
	struct tokenizer_opts t = {.min_count = 1};
	struct front_cmd cmd = train_cmd;
	cmd.set[0].base = &t;
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	struct lms_tok_train_opts o = {.kind = t.word    ? LMS_TOK_WORD
	                                       : t.chars ? LMS_TOK_CHAR
	                                                 : LMS_TOK_BPE,
	                               .vocab_size = t.vocab_size,
	                               .min_count = t.min_count,
	                               .lowercase = t.lowercase,
	                               .pattern = t.pattern,
	                               .bos_eos = t.bos_eos};
	const char *dir = t.out;
	char **corpora = argv + first;
	int n = argc - first;
	if (t.bpe + t.word + t.chars != 1)
		return front_usage(_("tokenizer train: give one of --bpe, --word, --char"));
	if (!o.vocab_size || !n || !dir)
		return front_usage(
			_("tokenizer train: give --vocab-size N, a corpus and -o DIR (see --help)"));
	if (o.kind == LMS_TOK_BPE && (o.lowercase || o.pattern || o.bos_eos))
		return front_usage(
			_("tokenizer train: --lowercase, --pattern, --bos-eos are for --word, --char"));
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
		/* DIR is built beside itself and swapped in whole (lmscope/stage.h) */
		struct lms_stage stage = {0};
		enum lms_status st = lms_stage_begin(&stage, dir, t.force ? LMS_STAGE_FORCE : 0, NULL);
		if (!st)
			st = lms_tokenizer_train(&o, (const char *const *)texts, lens, n, &tok);
		if (!st)
			st = lms_tokenizer_save(tok, stage.dir);
		if (!st)
			st = lms_stage_commit(&stage, NULL, tok);
		lms_stage_abort(&stage);
		if (st)
			rc = front_fail(st);
	}
	if (rc == LMS_EXIT_OK)
		printf("%s: %s tokenizer, %d tokens\n", dir,
		       o.kind == LMS_TOK_BPE    ? "byte-level BPE"
		       : o.kind == LMS_TOK_WORD ? "word-level"
		                                : "character-level",
		       lms_tokenizer_vocab_size(tok));
	lms_tokenizer_free(tok);
	for (int i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	return rc;
}

int lms_cmd_tokenizer(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "train"))
		return train(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		front_help(stdout, &train_cmd);
		return LMS_EXIT_OK;
	}
	return front_usage(
		_("tokenizer: the only subcommand is train (see lmscope tokenizer train --help)"));
}
