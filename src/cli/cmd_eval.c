/* lmscope eval MODEL FILE... [--json]: cross-entropy, bits per token,
 * perplexity and <unk> rate of a model on texts, with a sliding window for
 * texts longer than the context; with --ablate, of the ablated model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"
#include "front/opts.h"
#include "lmscope/dataset.h"
#include "lmscope/eval.h"

struct eval_opts {
	const char *tokenizer;
	int context, stride, batch, json;
};

static const struct front_opt eval_options[] = {
	FRONT_INT("context", 0, "N", N_("window length (the model's context)"), struct eval_opts,
              context, 1, 1000000),
	FRONT_INT("stride", 0, "N",
              N_("window advance (half the window): each token is predicted\n"
                 "with at least N - stride tokens of context"),
              struct eval_opts, stride, 1, 1000000),
	FRONT_INT("batch", 0, "N", N_("windows per forward pass (8; at most the windows there are)"),
              struct eval_opts, batch, 1, 1000000),
	FRONT_FILE("tokenizer", 0, "FILE", N_("the tokenizer to use instead of the model's own"),
               struct eval_opts, tokenizer),
	FRONT_FLAG("json", 0,
               N_("print {\"tokens\", \"cross_entropy\", \"bits_per_token\",\n"
                  "\"perplexity\", \"unk_rate\"}"),
               struct eval_opts, json, 1),
	FRONT_END};

struct bar {
	int tty;
	const char *file;
};

static void on_progress(void *ud, size_t done, size_t total)
{
	struct bar *b = ud;
	if (!b->tty)
		return;
	int width = 30, fill = total ? (int)((double)width * done / total) : width;
	fprintf(stderr, "\r\033[K%s [", b->file);
	for (int i = 0; i < width; i++)
		fputc(i < fill ? '=' : ' ', stderr);
	fprintf(stderr, "] %zu/%zu", done, total);
	fflush(stderr);
}

/* The texts' token ids, each file a document (BOS first when the model
 * expects it); unk counts the <unk> tokens. */
static enum lms_status encode_files(const struct lms_tokenizer *tok, char **files, int nfiles,
                                    int **ids, size_t *n, size_t *unk)
{
	for (int f = 0; f < nfiles; f++) {
		char *text;
		size_t len;
		struct lms_tok_stats ts = {0};
		enum lms_status st = lms_read_file(files[f], &text, &len);
		if (st)
			return st;
		st = lms_tokenizer_encode_input(tok, text, len, &ids[f], &n[f], NULL, &ts);
		free(text);
		if (st)
			return st;
		*unk += ts.unk;
	}
	return LMS_OK;
}

int lms_cmd_eval(int argc, char **argv)
{
	struct eval_opts o = {.batch = 8};
	struct cli_ablate ab = {0};
	struct front_cmd cmd = {"eval", N_("usage: lmscope eval MODEL FILE... [options]\n"),
	                        NULL,   {{eval_options, &o}, {cli_ablate_options, &ab}},
	                        0,      NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (argc - first < 2)
		return front_usage(_("eval needs MODEL and at least one FILE (see lmscope eval --help)"));
	const char *path = argv[first], *tokpath = o.tokenizer;
	char **files = argv + first + 1;
	int nfiles = argc - first - 1;
	struct front_model cm;
	enum lms_status st = front_open_model(path, tokpath, &cm);
	if (st)
		return front_fail(st);
	struct lms_intervention *iv = NULL;
	if ((rc = cli_ablate_make(&ab, cm.m, &iv))) {
		front_close_model(&cm);
		return rc;
	}
	struct lms_run *r = NULL;
	struct lms_eval acc = {0};
	size_t encoded = 0, unk = 0, most = 0;
	int T = cm.m->cfg.maxT;
	if (o.context > 0 && (o.context <= T || lms_arch_is_recurrent(cm.m->cfg.arch)))
		T = o.context;
	int stride = o.stride < T ? o.stride : 0;
	int **ids = calloc((size_t)nfiles, sizeof *ids);
	size_t *n = calloc((size_t)nfiles, sizeof *n);
	if (!ids || !n)
		st = lms_fail(LMS_ENOMEM, "out of memory");
	else if (!cm.tok)
		st = lms_fail(LMS_EFORMAT, "%s: the model has no tokenizer to read text with", path);
	else if (T < 2)
		st = lms_fail(LMS_EARG, "a context of %d cannot be evaluated", T);
	else
		st = encode_files(cm.tok, files, nfiles, ids, n, &unk);
	for (int f = 0; !st && f < nfiles; f++) {
		size_t w = lms_eval_windows(n[f], T, stride);
		most = w > most ? w : most;
		encoded += n[f];
	}
	/* rows beyond the windows there are would be computed for nothing */
	if (!st)
		st = lms_run_new(cm.m, (int)(most > 0 && most < (size_t)o.batch ? most : (size_t)o.batch),
		                 T, &r);
	if (!st)
		lms_run_intervene(r, iv);
	struct bar bar = {.tty = isatty(2)};
	for (int f = 0; f < nfiles && !st; f++) {
		bar.file = files[f];
		st = lms_eval_stream(r, ids[f], n[f], stride, &acc, on_progress, &bar);
		if (bar.tty)
			fputs("\r\033[K", stderr);
	}
	if (!st && !acc.targets)
		st = lms_fail(LMS_EARG, "the texts have fewer than two tokens: nothing to score");
	if (!st) {
		double ce = acc.nll / (double)acc.targets;
		double unk_rate = encoded ? (double)unk / (double)encoded : 0.0;
		if (o.json) {
			json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:f}", "tokens", (json_int_t)acc.targets,
			                      "cross_entropy", ce, "bits_per_token", ce / log(2.0),
			                      "perplexity", exp(ce), "unk_rate", unk_rate);
			char *js = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
			puts(js ? js : "{}");
			free(js);
			json_decref(o);
		} else {
			printf("tokens          %zu (context %d)\n", acc.targets, T);
			printf("cross-entropy   %.4f nats/token\n", ce);
			printf("bits per token  %.4f\n", ce / log(2.0));
			printf("perplexity      %.3f\n", exp(ce));
			printf("<unk> rate      %.4f%%\n", 100.0 * unk_rate);
		}
	}
	lms_run_free(r);
	lms_intervention_free(iv);
	front_close_model(&cm);
	for (int f = 0; ids && f < nfiles; f++)
		free(ids[f]);
	free(ids);
	free(n);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
