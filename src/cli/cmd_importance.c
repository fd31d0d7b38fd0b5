/* lmscope importance MODEL FILE: permutation importance over a text. Each
 * context offset d = 1..K (and, with --dims, each group of embedding
 * dimensions) is shuffled across the text's windows; the rise of the
 * cross-entropy and of the perplexity says how much the model relies on it. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"
#include "front/opts.h"
#include "lmscope/attribution.h"
#include "lmscope/dataset.h"

struct importance_opts {
	struct lms_importance_opts o;
	int json, lines;
};

#define I struct importance_opts
static const struct front_opt importance_options[] = {
	FRONT_INT("positions", 0, "K", N_("context offsets 1..K, K tokens per example (8)"), I,
              o.positions, 1, 4096),
	FRONT_INT("repeats", 0, "R", N_("shuffles per feature, for the spread (5)"), I, o.repeats, 1,
              1000),
	FRONT_INT("dims", 0, "G", N_("also G groups of embedding dimensions (0: none)"), I,
              o.dim_groups, 0, 1 << 20),
	FRONT_INT("examples", 0, "N", N_("windows taken from FILE, spread evenly (512)"), I,
              o.max_examples, 2, 1 << 24),
	FRONT_INT("batch", 0, "N", N_("windows per forward pass (64)"), I, o.batch, 1, 4096),
	FRONT_U64("seed", 0, "S", N_("shuffles (1)"), I, o.seed, 0, FRONT_INT_MAX),
	FRONT_FLAG("lines", 0,
               N_("one example per line of FILE: its last token is the target,\n"
                  "the K before it the context (shorter lines are skipped)"),
               I, lines, 1),
	FRONT_FLAG("json", 0, N_("one JSON object (see lmscope(1))"), I, json, 1),
	FRONT_END};
#undef I

static const char usage_text[] =
	N_("usage: lmscope importance MODEL FILE [options]\n"
       "FILE is text, or token ids separated by spaces for a model without a tokenizer.\n");

struct bar {
	int tty;
};

static int on_progress(void *ud, long done, long total)
{
	struct bar *b = ud;
	if (b->tty) {
		int width = 30, fill = total ? (int)((double)width * done / total) : width;
		fputs("\r\033[Kimportance [", stderr);
		for (int i = 0; i < width; i++)
			fputc(i < fill ? '=' : ' ', stderr);
		fprintf(stderr, "] %ld/%ld", done, total);
		fflush(stderr);
	}
	return front_interrupted;
}

/* head (the feature's keys) followed by the row's figures */
static json_t *row_json(json_t *head, const struct lms_importance_row *r)
{
	json_t *fig = json_pack("{s:f, s:f, s:f, s:f}", "xent_rise", r->xent_rise, "xent_sd",
	                        r->xent_sd, "ppl_rise", r->ppl_rise, "ppl_sd", r->ppl_sd);
	json_object_update(head, fig);
	json_decref(fig);
	return head;
}

static void print_json(const char *path, const char *file, const struct lms_importance_opts *o,
                       const struct lms_importance *imp)
{
	json_t *offs = json_array(), *dims = json_array();
	for (int d = 1; d <= imp->positions; d++) {
		json_array_append_new(offs, row_json(json_pack("{s:i}", "offset", d), &imp->offset[d - 1]));
	}
	for (int q = 0; q < imp->groups; q++) {
		json_t *head =
			json_pack("{s:i, s:i}", "start", imp->group_start[q], "end", imp->group_start[q + 1]);
		json_array_append_new(dims, row_json(head, &imp->group[q]));
	}
	json_t *root = json_pack("{s:s, s:s, s:i, s:i, s:i, s:f, s:f, s:o, s:o}", "model", path, "file",
	                         file, "examples", imp->examples, "positions", imp->positions,
	                         "repeats", o->repeats, "cross_entropy", imp->xent, "perplexity",
	                         exp(imp->xent), "offsets", offs, "dims", dims);
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	putchar('\n');
	json_decref(root);
}

static void print_row(const char *label, const struct lms_importance_row *r, int rank)
{
	printf("%-10s %4d  %10.4f  %8.4f  %12.4f  %10.4f\n", label, rank, r->xent_rise, r->xent_sd,
	       r->ppl_rise, r->ppl_sd);
}

/* rank (1 = largest rise) of entry i among n rows */
static int rank_of(const struct lms_importance_row *rows, int n, int i)
{
	int rank = 1;
	for (int k = 0; k < n; k++)
		rank += rows[k].xent_rise > rows[i].xent_rise ||
		        (rows[k].xent_rise == rows[i].xent_rise && k < i);
	return rank;
}

static void print_table(const struct lms_importance_opts *o, const struct lms_importance *imp)
{
	printf("examples %d, %d shuffles each; cross-entropy %.4f nats, perplexity %.3f\n\n",
	       imp->examples, o->repeats, imp->xent, exp(imp->xent));
	printf("%-10s %4s  %10s  %8s  %12s  %10s\n", "feature", "rank", "xent rise", "sd", "ppl rise",
	       "sd");
	char label[32];
	for (int d = 1; d <= imp->positions; d++) {
		snprintf(label, sizeof label, "offset %d", d);
		print_row(label, &imp->offset[d - 1], rank_of(imp->offset, imp->positions, d - 1));
	}
	if (imp->groups)
		putchar('\n');
	for (int q = 0; q < imp->groups; q++) {
		snprintf(label, sizeof label, "dims %d-%d", imp->group_start[q],
		         imp->group_start[q + 1] - 1);
		print_row(label, &imp->group[q], rank_of(imp->group, imp->groups, q));
	}
}

/* Token ids of len bytes of text: the tokenizer's, as model input (BOS
 * first when the model expects it: a file, or a line with --lines, is one
 * document, as eval reads it), or, for a model without a tokenizer, the text
 * read as ids separated by spaces, commas or newlines. */
static enum lms_status encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                              int **ids, size_t *n)
{
	if (tok)
		return lms_tokenizer_encode_input(tok, text, len, ids, n, NULL, NULL);
	*n = 0;
	*ids = malloc((len / 2 + 1) * sizeof **ids);
	if (!*ids)
		return lms_fail(LMS_ENOMEM, "out of memory");
	for (size_t i = 0; i < len;) {
		if (strchr(" ,\t\r\n", text[i])) {
			i++;
			continue;
		}
		long v = 0;
		size_t k = i;
		while (k < len && text[k] >= '0' && text[k] <= '9' && v <= 0x7fffffff)
			v = v * 10 + (text[k++] - '0');
		if (k == i || v > 0x7fffffff || (k < len && !strchr(" ,\t\r\n", text[k]))) {
			free(*ids);
			*ids = NULL;
			return lms_fail(LMS_EFORMAT,
			                "the model has no tokenizer, and the text is not a list of token ids");
		}
		(*ids)[(*n)++] = (int)v;
		i = k;
	}
	return LMS_OK;
}

/* Examples from the lines of text: the last token of each line is its
 * target and the K tokens before it the context; shorter lines are skipped. */
static enum lms_status line_examples(const struct lms_tokenizer *tok, const char *text, int K,
                                     int **ctx, int **tgt, int *N)
{
	size_t cap = 0;
	const char *p = text;
	for (const char *q = text; *q; q++)
		cap += *q == '\n';
	cap++;
	*ctx = malloc(cap * K * sizeof **ctx);
	*tgt = malloc(cap * sizeof **tgt);
	if (!*ctx || !*tgt)
		return lms_fail(LMS_ENOMEM, "out of memory");
	*N = 0;
	while (*p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int *ids;
		size_t n;
		enum lms_status st = encode(tok, p, len, &ids, &n);
		if (st)
			return st;
		if (n >= (size_t)K + 1) {
			memcpy(*ctx + (size_t)*N * K, ids + n - 1 - K, K * sizeof(int));
			(*tgt)[(*N)++] = ids[n - 1];
		}
		free(ids);
		p += len + (end != NULL);
	}
	return LMS_OK;
}

int lms_cmd_importance(int argc, char **argv)
{
	struct importance_opts io = {0};
	lms_importance_opts_default(&io.o);
	struct front_cmd cmd = {"importance", usage_text, NULL, {{importance_options, &io}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (argc - first > 2)
		return front_usage(_("importance: one MODEL and one FILE (see lmscope importance --help)"));
	if (argc - first < 2)
		return front_usage(_("importance needs MODEL and FILE (see lmscope importance --help)"));
	const char *path = argv[first], *file = argv[first + 1];
	struct lms_importance_opts o = io.o;
	int json = io.json, lines = io.lines;
	struct front_model cm;
	enum lms_status st = front_open_model(path, NULL, &cm);
	if (st)
		return front_fail(st);
	char *text = NULL;
	int *ids = NULL;
	size_t len, n = 0;
	if (!(st = lms_read_file(file, &text, &len)) && !lines)
		st = encode(cm.tok, text, len, &ids, &n);
	int *ctx = NULL, *tgt = NULL, N = 0;
	if (!st && lines)
		st = line_examples(cm.tok, text, o.positions, &ctx, &tgt, &N);
	struct lms_importance imp = {0};
	struct bar bar = {.tty = isatty(2)};
	if (!st) {
		struct sigaction old;
		front_sigint_catch(&old);
		o.progress = on_progress;
		o.userdata = &bar;
		st = lines ? lms_importance_examples(cm.m, ctx, tgt, N, &o, &imp)
		           : lms_importance_run(cm.m, ids, n, &o, &imp);
		front_sigint_restore(&old);
		if (bar.tty)
			fputs("\r\033[K", stderr);
	}
	free(text);
	free(ids);
	free(ctx);
	free(tgt);
	if (!st) {
		if (json)
			print_json(path, file, &o, &imp);
		else
			print_table(&o, &imp);
	}
	lms_importance_free(&imp);
	front_close_model(&cm);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
